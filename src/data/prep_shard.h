/* Sharded prep: `mpirun -np N avemo prep ...` (core/dist.h). Every rank scans the dataset (the same sample
 * order); rank 0 creates or resumes the cache; the samples left to do are dealt to the ranks in turn (the j-th
 * sample to do goes to rank j mod N: deterministic, and clips of one actor, which cost alike, spread over the
 * ranks); each rank writes its samples' files (the cache is one file per sample and kind, written atomically);
 * then rank 0 receives every rank's results (done kinds, content hashes, failure reasons) and writes the one
 * index.json. The cache is byte for byte the one a single process writes. A rank that dies loses nothing
 * written: the rerun (any number of ranks) takes over every complete file, as after a kill of one process.
 * Alone (one rank) each function is what prep did before. */
#ifndef AVEMO_DATA_PREP_SHARD_H
#define AVEMO_DATA_PREP_SHARD_H
#include "data/cache.h"

/* cache_create on rank 0 (ds taken over there); the other ranks free their ds and open the cache rank 0 has
 * written. The status is agreed by all ranks. */
int prep_shard_create_cache(feature_cache *c, const char *dir, dataset *ds, const char *config_json);

/* Keeps this rank's share of todo[n_todo] (in place); returns its count. */
int prep_shard_select(int *todo, int n_todo);

/* The end of the run: `status` is this rank's (agreed first); each rank syncs its files; rank 0 takes over the
 * other ranks' results for their samples mine[n_mine] and saves the index (cache_save). Returns the agreed
 * status. Alone: cache_save unless status is an error. */
int prep_shard_finish(feature_cache *c, const int *mine, int n_mine, int status);

#endif
