"""The text front-end: SMILES as token sequences for transformer encoders, on the shared SSL core.

``tokenizer`` (atom-level regex tokenizer, plain-JSON vocabularies), ``default_vocabulary`` (the frozen
``smiles_v1``), ``encoder`` (pre-LN transformer, kind ``"smiles_transformer"``), ``batch``
(``TokenBatch``), ``randomize`` (randomized SMILES, RDKit), ``data`` (the pretraining data source),
``views`` (view recipes of the joint-embedding methods), ``inputs`` (fine-tuning and prediction inputs),
``invariance`` (prediction spread over randomized SMILES).
"""

from molssl.text.batch import TokenBatch
from molssl.text.default_vocabulary import default_tokenizer
from molssl.text.encoder import SmilesTransformer, SmilesTransformerConfig
from molssl.text.tokenizer import SmilesTokenizer, detokenize, tokenize

__all__ = ["SmilesTokenizer", "SmilesTransformer", "SmilesTransformerConfig", "TokenBatch", "default_tokenizer",
           "detokenize", "tokenize"]  # fmt: skip
