"""Checks on the text of a SMILES string before RDKit sees it: consumed whole, or rejected with a reason.

RDKit's SMILES parser stops at the first whitespace (what follows is read as a name, or a CXSMILES
extension) and at some non-ASCII characters, and drops the rest without an error: ``"CCO N"``,
``"CCO\\nCCN"`` and ``"CCO€€"`` all parse as ethanol. A SMILES is printable ASCII without spaces, so
anything else is rejected here, with the character and its position:

* leading and trailing whitespace is stripped;
* inner whitespace is an error. A ``SMILES name`` line of a .smi file is split by the file reader
  (``molssl.data.corpus.read_smiles_file``), which keeps the first whitespace-separated field; a string
  passed to the featurizer must be the SMILES alone (CXSMILES extensions are not read);
* non-ASCII characters (including lone surrogates) and control characters (NUL, tab...) are errors;
* a SMILES longer than ``max_length`` characters is an error, found before any parsing.
"""

from __future__ import annotations


def _describe(char: str) -> str:
    return f"{char!r} (U+{ord(char):04X})"


def check_smiles_text(smiles: object, max_length: int | None) -> tuple[str, str | None]:
    """Return the SMILES with surrounding whitespace stripped, and why it is unusable (None if it is fine).

    Args:
        smiles: the input as given.
        max_length: the most characters allowed after stripping; None for no limit.

    Returns:
        ``(text, reason)``: ``text`` is what to hand to RDKit when ``reason`` is None.
    """
    if not isinstance(smiles, str):
        return "", f"expected a SMILES string, got {type(smiles).__name__}"
    text = smiles.strip()
    if not text:
        return text, "empty SMILES"
    if max_length is not None and len(text) > max_length:
        return text, (
            f"SMILES has {len(text)} characters, more than max_smiles_length={max_length} "
            f"(raise it, or pass None to disable the limit)"
        )
    if text.isascii() and text.isprintable() and " " not in text:
        return text, None
    for position, char in enumerate(text):
        if char.isspace():
            return text, (
                f"SMILES contains whitespace {_describe(char)} at position {position}: RDKit would read only "
                f"the part before it. Pass the SMILES alone (a 'SMILES name' line of a .smi file is split by "
                f"the file reader, which keeps the first field)"
            )
        if not char.isascii():
            return text, f"SMILES contains a non-ASCII character {_describe(char)} at position {position}"
        if not char.isprintable():
            return text, f"SMILES contains a control character {_describe(char)} at position {position}"
    raise AssertionError(f"unreachable: {text!r} has no bad character")  # pragma: no cover
