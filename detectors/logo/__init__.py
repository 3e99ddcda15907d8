"""Logo detection in listing images (OpenCV)."""
