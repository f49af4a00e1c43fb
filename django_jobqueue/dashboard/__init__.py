"""The admin dashboard: queues, jobs, registries, dependency chains and workers.

Every page reads only what it shows: counts in one pipeline, one range of ids
and one pipelined fetch of those jobs. Mutations are POST-only, confirmed first
(see :mod:`.actions`) and done in batches by the engine (see :mod:`.operations`).
"""
