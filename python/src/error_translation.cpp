#include "error_translation.h"

#include <exception>
#include <new>
#include <string>

#include "lull/base/error.h"

namespace py = pybind11;

namespace lull::python {

namespace {

// The class of lull/errors.py each ErrorCode is raised as.
const char* class_of(ErrorCode code) noexcept {
  switch (code) {
    case ErrorCode::invalid_argument: return "UsageError";
    case ErrorCode::not_found: return "SnapshotNotFound";
    case ErrorCode::corrupt: return "CorruptSnapshot";
    case ErrorCode::io:
    case ErrorCode::hdf5:
    case ErrorCode::incomplete: return "StorageError";
    case ErrorCode::in_use: return "DirectoryInUse";
    case ErrorCode::unsupported: return "Unsupported";
    case ErrorCode::internal: return "InternalError";
  }
  return "InternalError";
}

void raise(const char* class_name, const std::string& message, const char* code) {
  py::object errors = py::module_::import("lull.errors");
  py::object instance = errors.attr(class_name)(message);
  instance.attr("code") = code;
  PyErr_SetObject(errors.attr(class_name).ptr(), instance.ptr());
}

}  // namespace

void register_error_translation() {
  py::register_exception_translator([](std::exception_ptr thrown) {
    try {
      if (thrown) std::rethrow_exception(thrown);
    } catch (const Error& e) {
      raise(class_of(e.code()), e.what(), error_code_name(e.code()));
    } catch (const py::error_already_set&) {
      throw;  // a Python exception (a blob callback's): pybind11 restores it as it was
    } catch (const std::bad_alloc&) {
      throw;  // pybind11 raises MemoryError
    } catch (const py::builtin_exception&) {
      throw;
    } catch (const std::exception& e) {
      raise("InternalError", e.what(), "internal");
    }
  });
}

}  // namespace lull::python
