#pragma once
// lull's snapshot store: the one header to include.
//
//   lull::SnapshotStore store("/ckpt/myjob");
//   auto w = store.writer(step, rank, world_size);
//   w.write_tensor("w", lull::DType::f32, {1024, 512}, {rank * 256, 0}, {256, 512}, data);
//   auto report = w.finish();
//   // gather reports on rank 0, then:
//   store.commit(step, reports);
//   auto r = store.open_latest();
//   r.read("w", lull::DType::f32, {0, 0}, {1024, 512}, out);

#include "lull/base/error.h"
#include "lull/base/file_system.h"
#include "lull/checkpoint/dtype.h"
#include "lull/checkpoint/shard_report.h"
#include "lull/checkpoint/snapshot_commit.h"
#include "lull/checkpoint/snapshot_reader.h"
#include "lull/checkpoint/snapshot_store.h"
#include "lull/checkpoint/snapshot_writer.h"
#include "lull/checkpoint/writer_lock.h"
