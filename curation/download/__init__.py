"""`acav1m download` / `acav1m availability`: get the media of a published dataset, and know what is gone.

A run selects rows (select.py), freezes them into shards of a fixed size (plan.py), fetches and cuts
every clip through the curation fetch and decode code (clip.py), writes each finished shard atomically
(writers.py) and records every row's outcome (status.py) so a rerun skips finished shards (run.py).
"""
