"""Names in the HTML report: every control that could reorder or hide text is stripped (issue 9)."""

import unicodedata

from collector.report import name_html

BIDI = [chr(c) for c in (0x061C, 0x200E, 0x200F, *range(0x202A, 0x202F), *range(0x2066, 0x206A))]
CONTROLS = [chr(c) for c in (*range(0x20), *range(0x7F, 0xA0), 0x2028, 0x2029)]


def test_bidi_and_control_characters_are_stripped_and_the_name_is_isolated():
    assert name_html("team" + "".join(BIDI + CONTROLS) + "a") == "<bdi>teama</bdi>"


def test_every_explicit_bidi_formatting_character_is_in_the_list():
    explicit = {"LRE", "RLE", "PDF", "LRO", "RLO", "LRI", "RLI", "FSI", "PDI"}
    assert {chr(c) for c in range(0x110000) if unicodedata.bidirectional(chr(c)) in explicit} <= set(BIDI)


def test_names_keep_their_letters_emoji_and_escaping():
    # Zero-width joiners are format characters, not controls: emoji sequences and scripts need them.
    assert name_html("צוות 👩\u200d💻 <b>&") == "<bdi>צוות 👩\u200d💻 &lt;b&gt;&amp;</bdi>"
