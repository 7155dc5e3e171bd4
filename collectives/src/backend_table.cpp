// The communicator backends, as a table: adding one is a new file and a row.

#include <array>
#include <memory>

#include <fmt/format.h>
#include <fmt/ranges.h>

#include "lull/base/error.h"
#include "lull/collectives/communicator.h"
#include "mpi/mpi_communicator.h"
#ifdef LULL_HAVE_NCCL
#include "nccl/nccl_communicator.h"
#endif

namespace lull {

namespace {

using CreateCommunicator = std::unique_ptr<Communicator> (*)(MPI_Comm, const CommunicatorOptions&);

struct CommunicatorBackend {
  const char* name;
  CreateCommunicator create;  // null: known, but not built into this library
  const char* missing_hint;   // why not, and how to get it
};

std::unique_ptr<Communicator> create_mpi(MPI_Comm comm, const CommunicatorOptions& options) {
  return std::make_unique<detail::MpiCommunicator>(comm, options);
}

#ifdef LULL_HAVE_NCCL
std::unique_ptr<Communicator> create_nccl(MPI_Comm comm, const CommunicatorOptions& options) {
  return std::make_unique<detail::NcclCommunicator>(comm, options);
}
#endif

constexpr std::array kBackends = {
    CommunicatorBackend{"mpi", &create_mpi, ""},
#ifdef LULL_HAVE_NCCL
    CommunicatorBackend{"nccl", &create_nccl, ""},
#else
    CommunicatorBackend{"nccl", nullptr,
                        "this lull was built without CUDA and NCCL: configure it where both are "
                        "found (-DLULL_WITH_NCCL=ON), or use the \"mpi\" backend"},
#endif
};

}  // namespace

std::unique_ptr<Communicator> make_communicator(std::string_view backend, MPI_Comm comm,
                                                CommunicatorOptions options) {
  for (const CommunicatorBackend& row : kBackends) {
    if (backend != row.name) continue;
    if (row.create == nullptr) {
      throw Error(ErrorCode::unsupported, "communicator backend \"" + std::string(backend) + "\" is not built in",
                  {}, {}, row.missing_hint);
    }
    return row.create(comm, options);
  }
  throw Error(ErrorCode::invalid_argument, "unknown communicator backend \"" + std::string(backend) + "\"", {}, {},
              "use one of: " + fmt::to_string(fmt::join(communicator_backends(), ", ")));
}

std::vector<std::string> communicator_backends() {
  std::vector<std::string> names;
  for (const CommunicatorBackend& row : kBackends) {
    if (row.create != nullptr) names.emplace_back(row.name);
  }
  return names;
}

}  // namespace lull
