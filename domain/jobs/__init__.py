"""Long work as durable jobs: a row per job and per item, resumed after a crash.

`model` holds what a job is; `runner` runs one job at a time, pauses, resumes and cancels
them, and tells watchers how they go; each kind of work lives in a module of its own
(`import_pending`). The rows are written by `domain.store.jobs`.
"""
