"""The audio front-end on the one SSL core: WAV reading, batched log-mel spectrograms, spectrogram augmentations,
the "audio" data source (the embedded Free Spoken Digit Dataset, folders of WAV files), view recipes ("byola",
"specaugment") and the BYOL-A convolutional encoder ("byola_cnn").

BYOL-A is the ``byol`` method with the ``"byola"`` views; masked spectrogram modelling is the ``mae`` method with
the ViT (``molssl.vision.vit``) on spectrogram patches.
"""
