"""Secrets never print themselves, however they are turned into text."""

from __future__ import annotations

import json
import logging
import pickle

import pytest

from console.secrets import MASK, Secret

CLEAR = "hunter2-community"


def test_every_text_rendering_is_masked() -> None:
    secret = Secret(CLEAR)
    renderings = [
        str(secret),
        repr(secret),
        f"{secret}",
        f"{secret!r}",
        f"{secret:>20}",
        "%s" % secret,  # noqa: UP031 - the old formatting path, on purpose
        json.dumps({"community": secret}, default=str),
        repr({"community": secret}),
    ]
    assert all(CLEAR not in text for text in renderings), renderings
    assert all(MASK in text for text in renderings)


def test_logging_a_secret_shows_the_mask(caplog: pytest.LogCaptureFixture) -> None:
    with caplog.at_level(logging.INFO):
        logging.getLogger("console.test").info("community is %s", Secret(CLEAR))
    assert CLEAR not in caplog.text
    assert MASK in caplog.text


def test_reveal_equality_and_truthiness() -> None:
    assert Secret(CLEAR).reveal() == CLEAR
    assert Secret(CLEAR) == Secret(CLEAR)
    assert Secret(CLEAR) != Secret("other")
    assert Secret(CLEAR) != CLEAR  # never equal to clear text, so no accidental compare
    assert len({Secret(CLEAR), Secret(CLEAR)}) == 1
    assert not Secret("")


def test_secrets_refuse_to_be_pickled_or_made_from_non_strings() -> None:
    with pytest.raises(TypeError, match="not picklable"):
        pickle.dumps(Secret(CLEAR))
    with pytest.raises(TypeError):
        Secret(1234)  # type: ignore[arg-type]
