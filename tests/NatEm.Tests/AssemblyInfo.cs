// libtorch's random generator is process-wide: tests that seed it (training, initialization, dropout)
// would disturb each other if run concurrently, and on 2 cores parallel torch tests only compete for CPU.
[assembly: CollectionBehavior(DisableTestParallelization = true)]
