"""The Table 2 retention funnel, checked against AVSET-10M's published numbers."""

from __future__ import annotations

import pytest

from curation.avset.retention import RetentionTable, StageCounts

AVSET_700K = StageCounts(1_445_360, 898_366, 608_062, 727_530)
AVSET_10M = StageCounts(39_295_551, 13_824_726, 7_124_923, 9_877_475)


def test_reproduces_avset_table_2():
    table = RetentionTable({"AVSET-700K": AVSET_700K, "AVSET-10M (w/o. AVSET-700K)": AVSET_10M})
    lines = table.to_markdown().splitlines()
    assert lines[0] == (
        "| Stage | Goal | AVSET-700K #Num of Clips | AVSET-700K Proportion "
        "| AVSET-10M (w/o. AVSET-700K) #Num of Clips | AVSET-10M (w/o. AVSET-700K) Proportion |"
    )
    assert lines[2:] == [
        "| S1 | Candidate Videos | 1,445,360 | 100.0% | 39,295,551 | 100.0% |",
        "| S2 | AV-C Filtering | 898,366 | 62.2% | 13,824,726 | 35.2% |",
        "| S3 | Voiceover Filtering | 608,062 | 42.1% | 7,124,923 | 18.1% |",
        "| S4 | Sample Recycling | 727,530 | 50.3% | 9,877,475 | 25.1% |",
    ]
    data = table.to_dict()
    assert [s["stage"] for s in data["stages"]] == ["S1", "S2", "S3", "S4"]
    assert data["sources"]["AVSET-700K"][3] == {
        "stage": "S4",
        "goal": "Sample Recycling",
        "clips": 727_530,
        "proportion": pytest.approx(0.5034, abs=1e-4),
    }


def test_counts_from_per_clip_flags():
    av_pass = [True, True, True, True, False]
    voiceover = [False, True, True, False, True]
    recycled = [False, True, False, False, False]
    assert StageCounts.from_flags(av_pass, voiceover, recycled) == StageCounts(5, 4, 2, 3)
    with pytest.raises(ValueError, match="recycled clip"):
        StageCounts.from_flags([False], [True], [True])


def test_rejects_impossible_funnels():
    with pytest.raises(ValueError):
        StageCounts(10, 12, 5, 6)  # more survivors than candidates
    with pytest.raises(ValueError):
        StageCounts(10, 8, 5, 9)  # recycling cannot exceed the S2 survivors
    with pytest.raises(ValueError):
        StageCounts(10, 8, 5, 4)  # recycling only adds clips back
