"""ACAV100M-style subset selection: per-layer clustering, clustering-based audio-visual MI, batch greedy.

Feature extractors live in their own modules (``features``, ``imagebind_features``,
``efficientnet_features``, ``aisfx_features``) and are not imported here, so selection from
precomputed features or cluster ids needs no model code.
"""

from __future__ import annotations

from curation.selection.clustering import ClusterLabels, cluster_features
from curation.selection.feature_table import FeatureTable, write_feature_table
from curation.selection.greedy import SelectionResult, batch_greedy, greedy, select
from curation.selection.kmeans import KMeansConfig, SGDKMeans
from curation.selection.mutual_info import IncrementalMI, clustering_pairs, mutual_information, set_mutual_information
from curation.selection.stage import SelectionConfig, select_parquet, select_records

__all__ = [
    "ClusterLabels",
    "FeatureTable",
    "IncrementalMI",
    "KMeansConfig",
    "SGDKMeans",
    "SelectionConfig",
    "SelectionResult",
    "batch_greedy",
    "cluster_features",
    "clustering_pairs",
    "greedy",
    "mutual_information",
    "select",
    "select_parquet",
    "select_records",
    "set_mutual_information",
    "write_feature_table",
]
