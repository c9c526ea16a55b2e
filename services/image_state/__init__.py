"""The image-state service: records how builds ended and which cache digest they wrote."""
