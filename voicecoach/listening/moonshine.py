"""A second, free-text opinion: Moonshine base (English) run with onnxruntime from the moonshine-cpp wheel's files."""
from __future__ import annotations

import ctypes
import functools
import importlib.util
import mmap
import os
import shutil
import sys
from pathlib import Path
from typing import Callable, Iterable

import numpy

from voicecoach.listening import RecognizerUnavailable
from voicecoach.paths import cache_dir as default_cache_dir
from voicecoach.privacy import private_dir

MODEL_SUBDIR = Path("models") / "base-en"
# Bump when int8_model() or ortconvert changes, so an old cached conversion is not reused.
CONVERSION_VERSION = 2
HEADS, HEAD_SIZE = 8, 52
START, END = 1, 2
# A spoken command or question is one sentence (the longest example question has 11 words); past this
# many tokens it is talk or television, so stop decoding.
MAX_TOKENS = 40
Parts = tuple[tuple[str, ...], tuple[str, ...], tuple[str, ...]]  # prefixes, phrases, suffixes
# Hypotheses a grammar search keeps at each token. 32 instead: of the tuning splits' utterances still not understood
# (accents, dev, tune), one more right command and one more wrong; the search's p95 159 -> 369 ms (median 56 -> 65).
BEAM = 12


class MoonshineUnavailable(RecognizerUnavailable):
    """moonshine-cpp, onnxruntime or onnx is missing or broken; the message says what to do."""


def model_dir() -> Path:
    """Where moonshine-cpp keeps its English model, found without importing it (its import loads a C library that
    leaks memory on every transcription; only its model files are used here)."""
    spec = importlib.util.find_spec("moonshine_cpp")
    folder = Path(next(iter(spec.submodule_search_locations or ()), "")) / MODEL_SUBDIR if spec else None
    if folder is None or not (folder / "encoder_model.ort").exists():
        raise MoonshineUnavailable("The Moonshine model is missing: run scripts/setup, which installs moonshine-cpp on "
                                   "Linux x86_64 and macOS arm64; elsewhere use --recognizer pocketsphinx.")
    return folder


def read_tokens(path: Path) -> list[bytes]:
    """tokenizer.bin: each token's bytes after its length as a little-endian base-128 number."""
    data, at, tokens = path.read_bytes(), 0, []
    while at < len(data):
        length = shift = 0
        while True:
            byte = data[at]
            at += 1
            length |= (byte & 0x7F) << shift
            shift += 7
            if byte < 0x80:
                break
        tokens.append(data[at:at + length])
        at += length
    return tokens


def int8_model(source: Path, cache_dir: Path) -> Path:
    """The model as an ONNX file whose int8 weights stay int8 (DynamicQuantizeMatMul), converted once and cached.
    As shipped (ORT format), every run turns the int8 weights back to float32, and the decoder also transposes its
    32768-word output matrix: 50 ms a decoding step instead of 4 ms, and 52 ms instead of 25 for the encoder.
    ORT cannot re-optimise an ORT-format file, and folding float weights in would take 600 MB, so the graph is
    rebuilt with the int8 matrices used directly. onnxruntime's constant folding is then run once and saved: done at
    every start, it kept the encoder's folded convolution weights on the heap (17 MB). The weights go to a separate
    file, which onnxruntime maps instead of copying (30 MB less resident memory)."""
    stem = f"moonshine-base-en-{source.stem}-int8-v{CONVERSION_VERSION}-{source.stat().st_size}"
    target = cache_dir / f"{stem}.onnx"
    if target.exists():
        return target
    try:
        import onnx
        import onnxruntime
        from voicecoach.listening.ortconvert import keep_int8, onnx_from_ort
    except ImportError as error:
        raise MoonshineUnavailable(f"{error.name} is not installed: run scripts/setup.") from None
    work = cache_dir / f"{stem}.{os.getpid()}.part"
    try:
        private_dir(cache_dir)
        work.mkdir(exist_ok=True)
        # Weights inside the file, not as external data: onnx.save's external-data path calls uuid.uuid1(), and
        # libuuid reads the network card's address for it through an AF_INET socket. The converted files are
        # byte-identical either way; this costs 66 MB more at the peak of this one-time conversion (280 MB).
        onnx.save(keep_int8(onnx_from_ort(source)), str(work / "unfolded.onnx"))
        options = session_options()
        options.graph_optimization_level = onnxruntime.GraphOptimizationLevel.ORT_ENABLE_BASIC
        options.optimized_model_filepath = str(work / target.name)
        options.add_session_config_entry("session.optimized_model_external_initializers_file_name", f"{stem}.weights")
        options.add_session_config_entry("session.optimized_model_external_initializers_min_size_in_bytes", "1024")
        onnxruntime.InferenceSession(str(work / "unfolded.onnx"), options, providers=["CPUExecutionProvider"])
        for unfolded in work.glob("unfolded.*"):
            unfolded.unlink()
    except BaseException as error:
        shutil.rmtree(work, ignore_errors=True)  # a failed or interrupted conversion leaves nothing behind
        if not isinstance(error, OSError):
            raise
        raise MoonshineUnavailable(f"Could not write Moonshine's converted model to {cache_dir} "
                                   f"({error.strerror or error}): free some space or set XDG_CACHE_HOME to a "
                                   "writable folder.") from None
    for old in cache_dir.glob(f"moonshine-base-en-{source.stem}-int8-*"):
        if old.is_file() and not old.name.startswith(stem + "."):
            old.unlink()
    os.replace(work / f"{stem}.weights", cache_dir / f"{stem}.weights")
    os.replace(work / target.name, target)  # last: its presence says the conversion is complete
    work.rmdir()
    return target


def session_options():
    import onnxruntime
    options = onnxruntime.SessionOptions()
    options.intra_op_num_threads = 1  # the matrices are small: two threads took 120 ms a transcript instead of 101
    options.log_severity_level = 3
    # Pre-packing copies every weight matrix per input shape: 900 MB after a hundred utterances instead of 200.
    options.add_session_config_entry("session.disable_prepacking", "1")
    options.enable_cpu_mem_arena = False
    return options


class Moonshine:
    """hear(pcm16 mono 16 kHz) -> MoonshineTranscript: the words, and how well other sentences fit the same audio.
    Thread-safe; holds no Python lock while the model runs."""

    def __init__(self, cache_dir: Path | None = None):
        try:
            import onnxruntime
        except ImportError:
            raise MoonshineUnavailable("onnxruntime is not installed: run scripts/setup.") from None
        folder = model_dir()
        if cache_dir is None:
            cache_dir = default_cache_dir()
        models = [int8_model(folder / name, cache_dir) for name in ("encoder_model.ort", "decoder_model_merged.ort")]
        self.encoder, self.decoder = (onnxruntime.InferenceSession(str(model), session_options(),
                                                                   providers=["CPUExecutionProvider"])
                                      for model in models)
        self.weights = MappedFiles([model.with_suffix(".weights") for model in models])  # mapped by now
        self.inputs = [i.name for i in self.decoder.get_inputs()]
        self.outputs = [o.name for o in self.decoder.get_outputs()]
        self.tokens = read_tokens(folder / "tokenizer.bin")
        self.ids = {piece: i for i, piece in enumerate(self.tokens)}
        self.endings = [END] + [self.ids[mark] for mark in (b".", b"?", b"!")]
        self.grammars: dict[Parts, SentenceGrammar] = {}

    def hear(self, pcm: bytes, alternatives: Callable[[str], list[str]] | None = None) -> MoonshineTranscript:
        """The free transcript, and how well each sentence that `alternatives(transcript)` proposes fits the audio."""
        audio = (numpy.frombuffer(pcm, numpy.int16).astype(numpy.float32) / 32768.0)[None]
        if audio.shape[1] < 16000 // 4:  # shorter than any word, and too short for the encoder's strided convolutions
            return MoonshineTranscript("", 0.0, {})
        hidden = self.encoder.run(None, {"input_values": audio})[0]
        past = {name: numpy.zeros((1, HEADS, 0, HEAD_SIZE), numpy.float32)
                for name in self.inputs if name.startswith("past_key_values")}
        token, text, logprob = START, [], 0.0
        for step in range(MAX_TOKENS):
            feed = {"input_ids": numpy.array([[token]], numpy.int64), "encoder_hidden_states": hidden,
                    "use_cache_branch": numpy.array([step > 0]), **past}
            result = dict(zip(self.outputs, self.decoder.run(None, feed)))
            scores = log_softmax(result["logits"][0, -1])
            if step == 0:
                # Ending at once is the model's usual answer to a short word in a voice it finds odd; its second
                # choice is mostly the word. Dev split: 22 of the 77 commands it left empty are then understood,
                # and no non-command becomes a command.
                scores[END] = -numpy.inf
            token = int(scores.argmax())
            logprob += float(scores[token])
            for name in past:  # the encoder's keys and values are computed at the first step only
                if step == 0 or ".decoder." in name:
                    past[name] = result["present" + name[len("past_key_values"):]]
            if token == END:
                break
            text.append(token)
        words = self.text_of(text)
        attended = {name: value for name, value in past.items() if ".encoder." in name}
        scorer = functools.partial(self.fit, hidden, attended)
        return MoonshineTranscript(words, logprob, scorer=scorer, proposals=(lambda: alternatives(words)) if alternatives else None,
                          tokens=lambda sentence: len(self.encode(spelled(sentence))) + 1,
                          searcher=functools.partial(self.search, hidden, attended))

    def fit(self, hidden: numpy.ndarray, attended: dict[str, numpy.ndarray], sentences: list[str]) -> list[float]:
        """Each sentence's log-probability given the audio (natural log), read in one batched decoder run.
        `attended` holds the audio's cross-attention keys and values from the transcript's first step: reusing them
        gives the same scores in half the time of recomputing them for every sentence."""
        if not sentences:
            return []
        rows = [[START] + self.encode(spelled(s)) for s in sentences]
        ids = numpy.full((len(rows), max(map(len, rows))), END, numpy.int64)
        for i, row in enumerate(rows):
            ids[i, :len(row)] = row
        past = {name: numpy.repeat(attended[name], len(rows), 0) if name in attended
                else numpy.zeros((len(rows), HEADS, 0, HEAD_SIZE), numpy.float32)
                for name in self.inputs if name.startswith("past_key_values")}
        logits = self.decoder.run(["logits"], {"input_ids": ids, "use_cache_branch": numpy.array([True]),
                                               "encoder_hidden_states": hidden, **past})[0]
        fits = []
        for i, row in enumerate(rows):
            scores = log_softmax(logits[i, :len(row)])
            said = scores[numpy.arange(len(row) - 1), row[1:]].sum()
            fits.append(float(said + scores[-1, self.endings].max()))  # the sentence ends, or a full stop comes
        return fits

    def search(self, hidden: numpy.ndarray, attended: dict[str, numpy.ndarray], parts: Parts, floor: float,
               within: float) -> list[tuple[str, float, int]]:
        """The sentences "[prefix] phrase [suffix]" of `parts` likeliest given the audio, best first, as (text,
        log-probability, tokens scored): a beam search over their tokens, BEAM hypotheses a step, that drops any
        below `floor` (natural log) or more than `within` below the likeliest sentence found so far."""
        if parts not in self.grammars:
            self.grammars[parts] = SentenceGrammar(self.encode, *parts, comma=self.encode("x,")[-1])
        grammar = self.grammars[parts]
        own = {name: numpy.zeros((1, HEADS, 0, HEAD_SIZE), numpy.float32)
               for name in self.inputs if name.startswith("past_key_values") and name not in attended}
        live: list[tuple[float, list[int], list]] = [(0.0, [], grammar.start)]
        fed, found, cross = [[START]], {}, dict(attended)  # the audio's keys and values, one copy a hypothesis

        def bar() -> float:
            return max([floor] + [fit - within for fit, _ in found.values()])

        while live:
            if len(next(iter(cross.values()))) != len(live):  # copied again only when the beam's width changes
                cross = {name: numpy.repeat(value, len(live), 0) for name, value in attended.items()}
            feed = {"input_ids": numpy.array(fed, numpy.int64), "encoder_hidden_states": hidden,
                    "use_cache_branch": numpy.array([True]), **own, **cross}
            result = dict(zip(self.outputs, self.decoder.run(None, feed)))
            scores = log_softmax(result["logits"][:, -1])
            grown = []
            for row, (logprob, said, places) in enumerate(live):
                if grammar.complete(places):  # each path is walked once, so each sentence is found once
                    found[self.text_of(said)] = (logprob + float(scores[row, self.endings].max()), len(said) + 1)
                grown += [(logprob + float(scores[row, token]), said + [token], following, row)
                          for token, following in grammar.following(places).items()]
            grown = sorted((hypothesis for hypothesis in grown if hypothesis[0] >= bar()), key=lambda h: -h[0])[:BEAM]
            rows = [row for *_, row in grown]
            own = {name: result["present" + name[len("past_key_values"):]][rows] for name in own}
            live, fed = [(logprob, said, places) for logprob, said, places, _ in grown], [[h[1][-1]] for h in grown]
        kept = [(text, fit, tokens) for text, (fit, tokens) in found.items() if fit >= bar()]
        return sorted(kept, key=lambda sentence: -sentence[1])

    def text_of(self, tokens: list[int]) -> str:
        return b"".join(self.tokens[t] for t in tokens).decode("utf-8", "replace").replace("\u2581", " ").strip()

    def release_memory(self) -> None:
        """Drop the model weights' pages from this process until they are next used (see MappedFiles). Done once
        an utterance is dealt with: dropped after each model run instead, an utterance that is transcribed,
        scored and heard again slowed faulted them back in up to three times (dev, every fifth file: 106 -> 90 ms)."""
        self.weights.release()

    def encode(self, text: str) -> list[int]:
        """SentencePiece BPE: merge the adjacent pair whose joined piece ranks highest (lowest id) until none is."""
        pieces = list("\u2581" + text.replace(" ", "\u2581"))
        while len(pieces) > 1:
            ranked = [(self.ids.get((a + b).encode(), len(self.ids)), i) for i, (a, b) in enumerate(zip(pieces, pieces[1:]))]
            rank, at = min(ranked)
            if rank == len(self.ids):
                break
            pieces[at:at + 2] = [pieces[at] + pieces[at + 1]]
        return [self.ids[p.encode()] if p.encode() in self.ids else self.ids[b"<unk>"] for p in pieces]


class MappedFiles:
    """The address ranges where this process maps some files, and a way to drop their pages from its memory.
    onnxruntime maps the weights files privately and only reads them, so the kernel reads a dropped page back from
    its page cache when it is next used: a session holds 30–55 MB less between utterances for about 4 ms more
    per utterance, with the same transcripts (dev split, every file)."""

    def __init__(self, paths: list[Path]):
        self.ranges: list[tuple[int, int]] = []
        if sys.platform != "linux":
            return
        self.madvise = ctypes.CDLL(None, use_errno=True).madvise
        self.madvise.argtypes = [ctypes.c_void_p, ctypes.c_size_t, ctypes.c_int]
        wanted = {os.path.realpath(path) for path in paths}
        with open("/proc/self/maps", encoding="utf-8", errors="replace") as maps:
            for line in maps:
                fields = line.split(maxsplit=5)
                if len(fields) == 6 and fields[5].rstrip("\n") in wanted:
                    start, end = (int(address, 16) for address in fields[0].split("-"))
                    self.ranges.append((start, end - start))

    def release(self) -> None:
        for start, length in self.ranges:
            self.madvise(start, length, mmap.MADV_DONTNEED)


class SentenceGrammar:
    """Every sentence "[prefix] phrase [suffix]" in Moonshine's tokens, as written (capital first letter, a comma
    after the prefix or before the suffix or neither), as tries of the parts walked together: for the command
    grammar about 700 nodes (0.2 MB) instead of 63,000 (15 MB) for its 49,000 sentences spelled out. A place in it is
    a list of (part, trie node) pairs."""

    def __init__(self, encode: Callable[[str], list[int]], prefixes: Iterable[str], phrases: Iterable[str],
                 suffixes: Iterable[str], *, comma: int):
        def trie(texts: Iterable[str]) -> dict:
            root: dict = {}
            for text in texts:
                node = root
                for token in encode(text):
                    node = node.setdefault(token, {})
                node[None] = text  # a part ends here
            return root

        prefixes, phrases, suffixes = list(prefixes), list(phrases), list(suffixes)
        inner = [trie(spelled("x " + text)[2:] for text in part) for part in (phrases, suffixes)]
        commas = {comma: {None: ","}}
        self.next_parts = {"prefix": [("comma before phrase", commas), ("phrase", inner[0])],
                           "comma before phrase": [("phrase", inner[0])],
                           "phrase": [("comma before suffix", commas), ("suffix", inner[1])],
                           "comma before suffix": [("suffix", inner[1])]}
        self.start = self._reached([("prefix", trie(map(spelled, prefixes))), ("phrase", trie(map(spelled, phrases)))])

    def _reached(self, places: list) -> list:
        """The places, and the starts of the parts that may follow any part ending there."""
        reached, todo = [], list(places)
        while todo:
            part, node = todo.pop()
            reached.append((part, node))
            if None in node:
                todo += self.next_parts.get(part, [])
        return reached

    def following(self, places: list) -> dict[int, list]:
        """Each token that may come next, and the places it leads to."""
        after: dict[int, list] = {}
        for part, node in places:
            for token, child in node.items():
                if token is not None:
                    after.setdefault(token, []).append((part, child))
        return {token: self._reached(reached) for token, reached in after.items()}

    @staticmethod
    def complete(places: list) -> bool:
        """A sentence may end here: a phrase or a suffix is complete."""
        return any(None in node and part in ("phrase", "suffix") for part, node in places)


class MoonshineTranscript:
    """Moonshine's free transcript of some audio, and how well other sentences fit the same audio."""

    def __init__(self, text: str, logprob: float, fits: dict[str, float] | None = None,
                 scorer: Callable[[list[str]], list[float]] | None = None,
                 proposals: Callable[[], list[str]] | None = None, tokens: Callable[[str], int] | None = None,
                 searcher: Callable[[Parts, float, float], list[tuple[str, float, int]]] | None = None):
        self.text, self.logprob, self.scorer = text, logprob, scorer  # logprob: of the text itself, natural log
        self._fits, self._proposals, self._tokens, self._scored = fits, proposals, tokens, {}
        self._searcher = searcher

    def likeliest(self, parts: Parts, floor: float, within: float) -> list[tuple[str, float, int]]:
        """Moonshine.search() on the same audio; nothing when it cannot search."""
        return self._searcher(parts, floor, within) if self._searcher is not None else []

    @property
    def fits(self) -> dict[str, float]:
        """Each proposed sentence's log-probability given the audio, scored on first use: a transcript that names
        a command needs none, which saves about 20 ms (dev split, median)."""
        if self._fits is None:
            sentences = list(dict.fromkeys(self._proposals())) if self._proposals and self.scorer else []
            self._fits = dict(zip(sentences, self.scorer(sentences))) if sentences else {}
        return self._fits

    def fit_of(self, sentence: str) -> float | None:
        """The sentence's log-probability given the same audio, scored now if it was not proposed; None if unknown."""
        return self.fits_of([sentence])[0]

    def fits_of(self, sentences: list[str]) -> list[float | None]:
        """fit_of() for each sentence, those not yet scored scored together in one batched run."""
        if self.scorer is not None:
            new = [s for s in dict.fromkeys(sentences) if s not in self.fits and s not in self._scored]
            self._scored.update(zip(new, self.scorer(new)) if new else ())
        return [self.fits.get(s, self._scored.get(s)) for s in sentences]

    def fit_per_token(self, sentence: str) -> float | None:
        """fit_of(sentence) per token scored (its words and its ending), or None if unknown."""
        fit = self.fit_of(sentence)
        return fit / self._tokens(sentence) if fit is not None and self._tokens is not None else None


def spelled(sentence: str) -> str:
    """A lower-case sentence written as Moonshine writes: capital first letter, capital I."""
    words = [word[0].upper() + word[1:] if word == "i" or word.startswith("i'") else word for word in sentence.split()]
    text = " ".join(words)
    return text[:1].upper() + text[1:]


def log_softmax(logits: numpy.ndarray) -> numpy.ndarray:
    shifted = logits - logits.max(axis=-1, keepdims=True)
    return shifted - numpy.log(numpy.exp(shifted).sum(axis=-1, keepdims=True))
