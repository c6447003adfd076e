"""The image front-end: batches, batched augmentations and view recipes, encoders (ResNet, ViT), image data."""
