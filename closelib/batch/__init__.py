"""``close batch``: many independent closes (periods, restatements of a range, one close per
entity) run as tasks on a Dask cluster, each exactly as ``close run`` runs it.

periods (the PERIOD arguments and ranges), plan (the tasks: period, entities, the run each
restates), task (one close on a worker, in a process of its own), manifest (the batch's summary
``<outputs>/batches/<BATCH_ID>/batch.json`` and the batches a period's binder lists), cluster (the
Dask side: a local cluster or an existing scheduler, tasks submitted and gathered).
"""
