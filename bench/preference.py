"""The preference loop, measured on the embedded model (SmolLM2-135M) with a scripted user.

The user prefers answers that start with "臣妾" (Zhen Huan's humble self-address) and votes
in blind rounds by that rule alone. Everything goes through the app's own code:
1. a persona adapter is trained on huanhuan.json records (half of their answers start
   with 臣妾, so it sometimes follows the rule; the base model never does);
2. blind rounds between the base and that adapter on VOTE prompts; the user votes (rule
   followed by one side: that side; by both: tie; by neither: both bad);
3. the votes are exported as preference pairs and a DPO adapter is trained on top of the
   persona adapter (its parent) with the DPO preset, unchanged;
4. a blind re-compare of the DPO adapter against its parent on EVAL prompts, which are
   disjoint from the vote prompts and from the persona training records.
Prints the rule-following rate of both on the eval prompts (sampled, the same seed per
prompt for both) and the win rate of the DPO adapter with its 95% Wilson interval.

    HF_HUB_OFFLINE=1 .venv/bin/python bench/preference.py [--vote-prompts 120] [--eval-prompts 60]
"""

from __future__ import annotations

import argparse
import json
import os
import random
import sys
import tempfile
import time
from pathlib import Path

os.environ.setdefault("HF_HUB_OFFLINE", "1")
REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

import torch  # noqa: E402

from core.config import Settings  # noqa: E402
from core.models.options import GenerationOptions  # noqa: E402
from core.runtime import create_runtime  # noqa: E402
from core.tuning import preferences  # noqa: E402
from core.compare import recompare  # noqa: E402
from core.compare.runs import CompareRun, new_run, run_all, vote_settings  # noqa: E402
from core.tuning.presets import preset  # noqa: E402
from core.compare.votes import Vote, VoteStore, blind_sides, wilson  # noqa: E402

DATA = REPO.parent / "shared" / "data" / "huanhuan.json"
PERSONA = "现在你要扮演皇帝身边的女人--甄嬛"
RULE = "臣妾"


def follows(answer: str) -> bool:
    return answer.strip().startswith(RULE)


def scripted_vote(a: str, b: str) -> str:
    fa, fb = follows(a), follows(b)
    return "tie" if fa and fb else "A" if fa else "B" if fb else "both_bad"


def persona_records(records: list[dict], n: int, rng: random.Random) -> list[dict]:
    """n short records, half of them answered with 臣妾 first."""
    short = [r for r in records if len(r["instruction"]) + len(r["output"]) <= 60]
    rule = [r for r in short if follows(r["output"])]
    other = [r for r in short if not follows(r["output"])]
    picked = rng.sample(rule, n // 2) + rng.sample(other, n - n // 2)
    rng.shuffle(picked)
    return picked


def blind_votes(rt, run: CompareRun, votes: VoteStore, rng: random.Random) -> list[Vote]:
    """The scripted user's votes on a finished run, sides shuffled as a blind round does."""
    cast = []
    for i, (prompt, swapped) in enumerate(zip(run.prompts, blind_sides(len(run.prompts), rng))):
        order = [1, 0] if swapped else [0, 1]
        a, b = (run.variants[v] for v in order)
        ans_a, ans_b = (run.answers[i][v].text for v in order)
        vote = Vote(a=a, b=b, choice=scripted_vote(ans_a, ans_b), prompt=prompt, answer_a=ans_a, answer_b=ans_b,
                    run_id=run.id, model=run.model, settings=vote_settings(run, a, b))
        votes.add(vote)
        cast.append(vote)
    return cast


def train(rt, name: str, path: Path, config, dataset_name: str) -> dict:
    started = time.perf_counter()
    job = rt.jobs.wait(rt.finetune.start(path, name, config, dataset_name=dataset_name).id, timeout=3600)
    if job.status != "done":
        raise SystemExit(f"training {name} failed: {job.error}")
    losses = [m["loss"] for m in job.metrics if "loss" in m]
    return {"steps": len(losses), "first_loss": losses[0], "last_loss": losses[-1], "seconds": time.perf_counter() - started}


def rate(run: CompareRun, variant: str) -> tuple[int, int]:
    v = run.variants.index(variant)
    return sum(follows(row[v].text) for row in run.answers), len(run.answers)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--persona-records", type=int, default=48)
    parser.add_argument("--persona-epochs", type=int, default=2)
    parser.add_argument("--vote-prompts", type=int, default=60)
    parser.add_argument("--eval-prompts", type=int, default=40)
    parser.add_argument("--max-new-tokens", type=int, default=6, help="the rule is about the first words")
    parser.add_argument("--threads", type=int, default=1, help="torch threads (1 is steadiest on a shared CPU)")
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--model-cache", type=Path, default=None, help="a folder with the converted embedded model")
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    torch.manual_seed(args.seed)
    rng = random.Random(args.seed)
    records = json.loads(DATA.read_text(encoding="utf-8"))
    home = Path(tempfile.mkdtemp(prefix="liandan-pref-"))
    if args.model_cache:
        (home / "models").symlink_to(args.model_cache.resolve(), target_is_directory=True)
    rt = create_runtime(Settings(data_dir=home, model="embedded", load_on_start=False, embedding_model="hash"))
    rt.models.load("embedded")
    started = time.perf_counter()

    # 1. a persona adapter; prompts for votes and eval come from records it was not trained on.
    persona = persona_records(records, args.persona_records, rng)
    used = {r["instruction"] for r in persona}
    free = list(dict.fromkeys(r["instruction"] for r in records if r["instruction"] not in used and len(r["instruction"]) <= 40))
    rng.shuffle(free)
    vote_prompts, eval_prompts = free[: args.vote_prompts], free[args.vote_prompts: args.vote_prompts + args.eval_prompts]
    assert not set(vote_prompts) & set(eval_prompts)
    sft = preset("quick", system_prompt=PERSONA, max_length=96, epochs=args.persona_epochs, learning_rate=1e-3,
                 save_every=1000).model_copy(update={"max_records": None})
    path = rt.finetune.save_dataset("huanhuan.json", json.dumps(persona, ensure_ascii=False).encode("utf-8"))
    info = train(rt, "huanhuan", path, sft, "huanhuan.json")
    print(f"persona adapter huanhuan: {len(persona)} records, {info['steps']} steps, "
          f"loss {info['first_loss']:.3f} -> {info['last_loss']:.3f}, {info['seconds']:.0f} s", flush=True)

    # 2. blind rounds base vs persona, voted by the rule.
    pool = rt.adapter_pool
    sampling = GenerationOptions(temperature=1.0, top_p=0.95, max_new_tokens=args.max_new_tokens, seed=args.seed)
    votes = VoteStore(rt.settings.compare_dir / "votes.jsonl")
    t0 = time.perf_counter()
    run = run_all(pool, new_run(pool, ["base", "huanhuan"], vote_prompts, sampling))
    cast = blind_votes(rt, run, votes, rng)
    tally = {c: sum(v.choice == c for v in cast) for c in ("A", "B", "tie", "both_bad")}
    print(f"votes on {len(vote_prompts)} prompts ({time.perf_counter() - t0:.0f} s): {tally}; rule followed by "
          f"base {rate(run, 'base')[0]}/{len(vote_prompts)}, huanhuan {rate(run, 'huanhuan')[0]}/{len(vote_prompts)}",
          flush=True)

    # 3. export → DPO on top of the persona adapter.
    exported = preferences.export(rt.finetune.save_dataset, votes.all(), [])
    if exported.pairs_path is None:
        raise SystemExit("no decisive vote: nothing to train on (the persona adapters never follow the rule)")
    print(f"exported {exported.pairs} pairs ({len(exported.heldout)} vote prompts held out), vote set {exported.sha256[:12]}")
    info = train(rt, "huanhuan-dpo", exported.pairs_path, preset("dpo", parent="huanhuan"), exported.pairs_path.name)
    card = rt.adapters.get("huanhuan-dpo")
    print(f"DPO adapter: {info['steps']} steps, loss {info['first_loss']:.3f} -> {info['last_loss']:.3f}, "
          f"{info['seconds']:.0f} s; card parent={card.extra['parent']} vote_set={card.extra['vote_set_sha256'][:12]}")

    # 4. blind re-compare on eval prompts (never voted on, never trained on).
    new, parent = recompare.contestants(card)
    t0 = time.perf_counter()
    again = run_all(pool, new_run(pool, [parent, new], eval_prompts, sampling.model_copy(update={"seed": args.seed + 1})))
    judged = recompare.verdict(blind_votes(rt, again, votes, rng), new, parent)
    before, n = rate(again, parent)
    after, _ = rate(again, new)
    lo_b, hi_b = wilson(before, n)
    lo_a, hi_a = wilson(after, n)
    lo, hi = judged.interval
    print(f"re-compare on {n} eval prompts ({time.perf_counter() - t0:.0f} s):")
    print(f"  rule-following rate  parent {before}/{n} = {before / n:.0%} [{lo_b:.0%}, {hi_b:.0%}]"
          f"   DPO {after}/{n} = {after / n:.0%} [{lo_a:.0%}, {hi_a:.0%}]")
    rate_text = f"{judged.rate:.0%}" if judged.rate is not None else "n/a"
    print(f"  DPO win rate {rate_text} over {judged.decisive} decisive votes, 95% Wilson [{lo:.0%}, {hi:.0%}] "
          f"({judged.ties} ties/both bad) -> {judged.outcome}")
    print(f"total {time.perf_counter() - started:.0f} s, torch threads {torch.get_num_threads()}")


if __name__ == "__main__":
    main()
