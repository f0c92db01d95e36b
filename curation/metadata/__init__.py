"""ACAV100M §3.1: source-video metadata (read through yt-dlp without downloading media) and the filters on it."""
