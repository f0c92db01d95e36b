"""The pipeline's stages, one module each: fetch, segment, decode, caption, embed, score, categorise."""
