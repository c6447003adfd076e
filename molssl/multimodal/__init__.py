"""One molecule in several modalities at once: paired graph, SMILES and depiction data, their encoders, retrieval.

``source``: the paired data source (``MultimodalSource``, opened as ``open_source("multimodal", ...)``);
``encoder``: the per-modality encoders as one registered kind (``"multimodal"``); ``retrieval``:
cross-modal recall@k and mean rank. The alignment method is ``molssl.methods.clip_align``.
"""
