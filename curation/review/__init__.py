"""Human review of a curated dataset: sample clips, rate them in a local page, report precision and agreement.

ACAV100M (§5.2) judged its selection by asking people "does the sound come from what you see" (3 votes per
clip, majority vote, Fleiss' kappa); this package lets a curator do the same for their own collection:
`sample` writes a self-contained review directory, `serve` collects votes into SQLite, `report` turns them
into per-stratum precision with confidence intervals and agreement figures.
"""
