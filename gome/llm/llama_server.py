"""The embedded model's server: llama-cpp-python's OpenAI-compatible server with gome's runtime.

    python -m gome.llm.llama_server [--lookup N] [--grammar-first] <llama_cpp.server arguments>

On top of the stock server (same library, same binary) it:

- drafts tokens by prompt lookup (`--lookup N`, 0 turns it off): the longest recent n-gram of the
  context that ends like the text so far proposes the next N tokens, which the model verifies in one
  batch. The Coder's reply mostly copies the script it edits, so long runs are accepted at prompt speed.
  (llama-cpp-python's own `LlamaPromptLookupDecoding` takes the *first* 2-gram match and turns on
  logits for every prompt token; here logits are computed only where a token is sampled.)
- checks the grammar of a structured reply after sampling, not before (llama.cpp's own order in its
  `common_sampler`): the stock chain runs the grammar over all 152k candidate tokens at every step, which
  cost a third of the generation speed here. The token sampled without the grammar is kept when the
  grammar allows it; otherwise the step is sampled again with the grammar applied first
  (`--grammar-first`: the stock order).
- keeps no Python copy of the logits, so the prompt cache (`--cache True`, in RAM) stores only the
  model's KV state: every role's prompt prefix stays cached between its calls, while the other roles
  run in between.
- ends a streamed reply with a usage chunk (OpenAI's `include_usage` format) that reports the prompt
  tokens served from the cache as `prompt_tokens_details.cached_tokens`, and the drafted tokens the
  model kept or threw away as `completion_tokens_details.accepted_prediction_tokens` /
  `rejected_prediction_tokens` (OpenAI's names).

It runs only inside the server subprocess; nothing else in gome imports llama_cpp.
"""

from __future__ import annotations

import argparse
import ctypes
import sys
from collections.abc import Iterator, Sequence
from typing import Any

import numpy as np

__all__ = ["GrammarLast", "LookupDraft", "longest_prefix", "main"]


def longest_prefix(a: Sequence[int], b: Sequence[int]) -> int:
    n = 0
    for x, y in zip(a, b):
        if x != y:
            break
        n += 1
    return n


class LookupDraft:
    """Proposes the tokens that followed the most recent earlier occurrence of the context's tail.

    The draft length adapts: it doubles (up to `num_pred_tokens`) after a draft was accepted whole and
    falls to what was accepted, plus one, otherwise. On this hardware a batch of k tokens costs about
    (1 + k/3) single steps, so short drafts are cheap to lose and long ones pay only when copied."""

    def __init__(self, num_pred_tokens: int = 16, max_ngram: int = 8, min_ngram: int = 3) -> None:
        self.num_pred_tokens, self.max_ngram, self.min_ngram = num_pred_tokens, max_ngram, min_ngram
        self.length = 4
        self.accepted = self.rejected = 0  # draft tokens of the current request
        self._last: tuple[int, int] | None = None  # (context length, draft length) of the previous draft

    def reset(self) -> None:
        """A new request: the counters start again."""
        self.accepted = self.rejected = 0
        self._last = None

    def _adapt(self, n: int) -> None:
        if self._last is None:
            return
        at, k = self._last
        self._last = None
        accepted = n - at - 1
        if not 0 <= accepted <= k:  # a new prompt, not the continuation of the last draft
            return
        self.accepted, self.rejected = self.accepted + accepted, self.rejected + k - accepted
        self.length = min(self.num_pred_tokens, 2 * k) if accepted == k else max(1, accepted + 1)

    def __call__(self, input_ids: Any, /, **kwargs: Any) -> Any:
        ids = np.asarray(input_ids, dtype=np.intc)
        n = len(ids)
        self._adapt(n)
        for size in range(min(self.max_ngram, n - 1), self.min_ngram - 1, -1):
            windows = np.lib.stride_tricks.sliding_window_view(ids[: n - 1], size)  # windows ending before the tail's end
            hits = np.nonzero((windows == ids[n - size:]).all(axis=1))[0]
            if len(hits):
                start = int(hits[-1]) + size
                draft = ids[start: start + self.length]
                self._last = (n, len(draft))
                return draft
        return np.array([], dtype=np.intc)


class GrammarLast:
    """A sampler chain with the grammar checked after sampling (stands in for llama-cpp-python's LlamaSampler).

    `sample` draws a token with the chain alone and keeps it when the grammar accepts it; when not, it
    draws again from the candidates the grammar allows. Either way the chain and the grammar then
    accept the token, as llama.cpp's `llama_sampler_sample` does for a chain."""

    def __init__(self, chain: Any, grammar: Any, n_vocab: int) -> None:
        import llama_cpp

        self._cpp, self.chain, self.grammar = llama_cpp, chain, grammar  # chain: a LlamaSampler; grammar: a raw sampler
        self._ids = np.arange(n_vocab, dtype=np.intc)
        self._data = np.zeros(n_vocab, dtype=[("id", np.intc), ("logit", np.single), ("p", np.single)])
        self._one = np.zeros(1, dtype=self._data.dtype)

    def _array(self, data: np.ndarray) -> Any:
        cpp = self._cpp
        return cpp.llama_token_data_array(data=data.ctypes.data_as(cpp.llama_token_data_p), size=len(data),
                                          selected=-1, sorted=False)

    def _draw(self, ctx: Any, idx: int, grammar_first: bool) -> int:
        cpp, data = self._cpp, self._data
        data["id"] = self._ids
        data["logit"] = np.ctypeslib.as_array(cpp.llama_get_logits_ith(ctx.ctx, idx), shape=(len(data),))
        data["p"] = 0.0
        cur = self._array(data)
        if grammar_first:
            cpp.llama_sampler_apply(self.grammar, ctypes.byref(cur))
        cpp.llama_sampler_apply(self.chain.sampler, ctypes.byref(cur))
        return int(cur.data[cur.selected].id)

    def allows(self, token: int) -> bool:
        """Whether the grammar, in its current state, lets `token` come next."""
        self._one[0] = (token, 0.0, 0.0)
        cur = self._array(self._one)
        self._cpp.llama_sampler_apply(self.grammar, ctypes.byref(cur))
        return bool(np.isfinite(self._one[0]["logit"]))

    def sample(self, ctx: Any, idx: int = -1) -> int:
        token = self._draw(ctx, idx, grammar_first=False)
        if not self.allows(token):
            token = self._draw(ctx, idx, grammar_first=True)
        self.accept(token)
        return token

    def accept(self, token: int) -> None:
        self.chain.accept(token)
        self._cpp.llama_sampler_accept(self.grammar, token)

    def reset(self) -> None:
        self.chain.reset()
        self._cpp.llama_sampler_reset(self.grammar)

    def close(self) -> None:
        if self.grammar is not None:
            self._cpp.llama_sampler_free(self.grammar)
            self.grammar = None
        self.chain.close()

    def __del__(self) -> None:
        self.close()


def _patch(lookup: int, grammar_last: bool = True) -> None:
    import llama_cpp

    Llama: Any = llama_cpp.Llama  # patched in place: the server builds its model from this class
    init, generate, chat = Llama.__init__, Llama.generate, Llama.create_chat_completion
    init_sampler = Llama._init_sampler
    small = lookup + 1  # a batch this short is a sampled token and its draft: every position needs logits

    def __init__(self: Any, *args: Any, **kwargs: Any) -> None:
        init(self, *args, **kwargs)
        self.draft_model = LookupDraft(lookup) if lookup > 0 else None
        # Logits stay inside llama.cpp (see eval), so these rows are never read; they are there because the
        # stopping criteria are handed the row of each sampled position (of the last `small`). Few rows keep
        # the prompt cache's saved states small.
        self.scores = np.zeros((small, self._n_vocab), dtype=np.single)
        self._gome_usage = {"prompt": 0, "cached": 0, "completion": 0}

    def eval(self: Any, tokens: Sequence[int]) -> None:
        """Llama.eval without copying logits to Python: sampling reads them inside llama.cpp."""
        self._ctx.kv_cache_seq_rm(-1, self.n_tokens, -1)
        every = len(tokens) <= small and self.draft_model is not None
        for i in range(0, len(tokens), self.n_batch):
            batch = tokens[i: i + self.n_batch]
            n_past = self.n_tokens
            self._batch.set_batch(batch=batch, n_past=n_past, logits_all=every)
            self._ctx.decode(self._batch)
            self.input_ids[n_past: n_past + len(batch)] = batch
            self.n_tokens += len(batch)
            self._requires_eval = False

    def counted_generate(self: Any, tokens: Sequence[int], *args: Any, **kwargs: Any) -> Iterator[int]:
        tokens = list(tokens)
        kept = longest_prefix(self._input_ids.tolist(), tokens) if self.n_tokens > 0 else 0
        self._gome_usage = {"prompt": len(tokens), "cached": min(kept, max(len(tokens) - 1, 0)), "completion": 0}
        if self.draft_model is not None:
            self.draft_model.reset()
        inner = generate(self, tokens, *args, **kwargs)
        sent = None
        try:
            while True:
                try:
                    token = inner.send(sent)
                except StopIteration:
                    return
                self._gome_usage["completion"] += 1
                sent = yield token
        finally:
            inner.close()

    def _init_sampler(self: Any, *args: Any, grammar: Any = None, **kwargs: Any) -> Any:
        if grammar is None or not grammar_last:
            return init_sampler(self, *args, grammar=grammar, **kwargs)
        chain = init_sampler(self, *args, grammar=None, **kwargs)
        checker = llama_cpp.llama_sampler_init_grammar(self._model.vocab, grammar._grammar.encode("utf-8"),
                                                       grammar._root.encode("utf-8"))
        return GrammarLast(chain, checker, self._n_vocab)

    def create_chat_completion(self: Any, *args: Any, **kwargs: Any) -> Any:
        result = chat(self, *args, **kwargs)  # a whole reply's usage goes through the server's response model,
        return result if isinstance(result, dict) else _with_usage(self, result)  # which keeps only the counts

    Llama.__init__, Llama.eval, Llama.generate = __init__, eval, counted_generate
    Llama.create_chat_completion, Llama._init_sampler = create_chat_completion, _init_sampler


def _details(llama: Any) -> dict[str, Any]:
    """The usage fields OpenAI's API has for cached prompt tokens and predicted (drafted) tokens."""
    draft = llama.draft_model
    return {"prompt_tokens_details": {"cached_tokens": llama._gome_usage["cached"]},
            "completion_tokens_details": {"accepted_prediction_tokens": draft.accepted if draft else 0,
                                          "rejected_prediction_tokens": draft.rejected if draft else 0}}


def _with_usage(llama: Any, chunks: Iterator[dict[str, Any]]) -> Iterator[dict[str, Any]]:
    last: dict[str, Any] = {}
    for chunk in chunks:
        last = chunk
        yield chunk
    used = llama._gome_usage
    yield {"id": last.get("id", ""), "object": "chat.completion.chunk", "created": last.get("created", 0),
           "model": last.get("model", ""), "choices": [],
           "usage": {"prompt_tokens": used["prompt"], "completion_tokens": used["completion"],
                     "total_tokens": used["prompt"] + used["completion"], **_details(llama)}}


def main(argv: Sequence[str] | None = None) -> None:
    parser = argparse.ArgumentParser(add_help=False)
    parser.add_argument("--lookup", type=int, default=16)
    parser.add_argument("--grammar-first", action="store_true")
    ours, rest = parser.parse_known_args(argv)
    _patch(ours.lookup, grammar_last=not ours.grammar_first)
    from llama_cpp.server.__main__ import main as serve

    sys.argv = [sys.argv[0], *rest]
    serve()


if __name__ == "__main__":
    main()
