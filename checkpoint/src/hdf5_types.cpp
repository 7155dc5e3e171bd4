#include "hdf5_types.h"

#include <cstdint>
#include <string>

#include "hdf5_error.h"

namespace lull::detail {

namespace {

Hid make_float16(std::size_t exponent_bits, std::size_t mantissa_bits, std::size_t bias) {
  Hid type(check_id(H5Tcopy(H5T_IEEE_F32LE), "H5Tcopy", "float16 type"));
  // Layout of a 16-bit float: sign at bit 15, exponent below it, mantissa at bit 0.
  check_status(H5Tset_fields(type, 15, mantissa_bits, exponent_bits, 0, mantissa_bits), "H5Tset_fields",
               "float16 type");
  check_status(H5Tset_size(type, 2), "H5Tset_size", "float16 type");
  check_status(H5Tset_ebias(type, bias), "H5Tset_ebias", "float16 type");
  return type;
}

Hid make_bool() {
  Hid type(check_id(H5Tenum_create(H5T_NATIVE_INT8), "H5Tenum_create", "bool type"));
  std::int8_t no = 0, yes = 1;
  check_status(H5Tenum_insert(type, "FALSE", &no), "H5Tenum_insert", "bool type");
  check_status(H5Tenum_insert(type, "TRUE", &yes), "H5Tenum_insert", "bool type");
  return type;
}

Hid copy(hid_t predefined) { return Hid(check_id(H5Tcopy(predefined), "H5Tcopy", "predefined type")); }

}  // namespace

Hid make_hdf5_type(DType type) {
  switch (type) {
    case DType::f16: return make_float16(5, 10, 15);
    case DType::bf16: return make_float16(8, 7, 127);
    case DType::f32: return copy(H5T_IEEE_F32LE);
    case DType::f64: return copy(H5T_IEEE_F64LE);
    case DType::i8: return copy(H5T_STD_I8LE);
    case DType::u8: return copy(H5T_STD_U8LE);
    case DType::i32: return copy(H5T_STD_I32LE);
    case DType::i64: return copy(H5T_STD_I64LE);
    case DType::boolean: return make_bool();
  }
  throw Error(ErrorCode::internal, "unknown dtype " + std::to_string(static_cast<int>(type)));
}

}  // namespace lull::detail
