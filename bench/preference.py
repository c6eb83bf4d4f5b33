"""The preference loop, measured on the embedded model (SmolLM2-135M) with a scripted user.

The user prefers answers that start with "臣妾" (Zhen Huan's humble self-address) and votes
in blind rounds by that rule alone. Everything goes through the app's own code:
1. a persona adapter is trained on huanhuan.json records (half of their answers start
   with 臣妾, so it sometimes follows the rule; the base model never does);
2. blind rounds between the base and that adapter on VOTE prompts; the user votes (rule
   followed by one side: that side; by both: tie; by neither: both bad);
3. the votes are exported as preference pairs (the export holds 20 % of the vote prompts
   out) and a DPO adapter is trained on top of the persona adapter (its parent) with the
   DPO preset, unchanged;
4. a blind re-compare of the DPO adapter against its parent on the TRAIN prompts (those in
   the pairs file) and on HELD-OUT prompts: the export's held-out vote prompts plus EVAL
   prompts that were never voted on; neither kind was trained on.

Every prompt has its own sampling seed (sha256 of the round's seed and the prompt), printed
beside it, so answers to different prompts are independent draws and a re-run with the same
seeds gives the same answers (checked: the first re-compare is generated twice). Both sides
of a prompt share its seed, so parent vs DPO is a paired comparison. `--repeat N` re-runs the
re-compare N more times with fresh seeds to show how much the figures move between samples.
Printed for train and held-out prompts apart: the rule-following rate of both (95 % Wilson),
the DPO adapter's decisive win rate (Wilson) and its Bradley–Terry rating gap over the
parent with the gap's 95 % bootstrap interval.

    HF_HUB_OFFLINE=1 .venv/bin/python bench/preference.py [--eval-prompts 40] [--repeat 2]
"""

from __future__ import annotations

import argparse
import hashlib
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
from core.compare.leaderboard import rating_gap  # noqa: E402
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


def prompt_seed(round_seed: int, prompt: str) -> int:
    """A prompt's own seed, fixed by the round's seed and the prompt text: one shared seed for every
    prompt (what a comparison run uses) makes answers to different prompts correlated draws."""
    return int.from_bytes(hashlib.sha256(f"{round_seed}\n{prompt}".encode("utf-8")).digest()[:4], "big")


def sample(pool, variants: list[str], prompts: list[str], sampling: GenerationOptions, round_seed: int) -> list[CompareRun]:
    """One comparison run per prompt, each sampled from that prompt's own seed (both variants share it)."""
    return [run_all(pool, new_run(pool, variants, [p], sampling.model_copy(update={"seed": prompt_seed(round_seed, p)})))
            for p in prompts]


def blind_votes(runs: list[CompareRun], rng: random.Random) -> list[Vote]:
    """The scripted user's votes on finished runs, sides shuffled as a blind round does."""
    cast = []
    for run, swapped in zip(runs, blind_sides(len(runs), rng)):
        order = [1, 0] if swapped else [0, 1]
        a, b = (run.variants[v] for v in order)
        ans_a, ans_b = (run.answers[0][v].text for v in order)
        cast.append(Vote(a=a, b=b, choice=scripted_vote(ans_a, ans_b), prompt=run.prompts[0], answer_a=ans_a,
                         answer_b=ans_b, run_id=run.id, model=run.model, settings=vote_settings(run, a, b)))
    return cast


def train(rt, name: str, path: Path, config, dataset_name: str) -> dict:
    started = time.perf_counter()
    job = rt.jobs.wait(rt.finetune.start(path, name, config, dataset_name=dataset_name).id, timeout=3600)
    if job.status != "done":
        raise SystemExit(f"training {name} failed: {job.error}")
    losses = [m["loss"] for m in job.metrics if "loss" in m]
    return {"steps": len(losses), "first_loss": losses[0], "last_loss": losses[-1], "seconds": time.perf_counter() - started}


def answer(run: CompareRun, variant: str) -> str:
    return run.answers[0][run.variants.index(variant)].text


def rate(runs: list[CompareRun], variant: str) -> tuple[int, int]:
    return sum(follows(answer(r, variant)) for r in runs), len(runs)


def share(k: int, n: int) -> str:
    lo, hi = wilson(k, n)
    return f"{k}/{n} = {k / n:.0%} [{lo:.0%}, {hi:.0%}]" if n else "0/0"


def judge(runs: list[CompareRun], cast: list[Vote], new: str, parent: str) -> dict:
    """Rule-following rates, decisive win rate and BT gap (new − parent) of one set of prompts."""
    judged = recompare.verdict(cast, new, parent)
    gap = rating_gap(cast, new, parent) if cast else (float("nan"),) * 3
    return {"parent": rate(runs, parent), "new": rate(runs, new), "verdict": judged, "gap": gap}


def report(label: str, figures: dict) -> str:
    judged, (gap, lo, hi) = figures["verdict"], figures["gap"]
    win = f"DPO won {share(judged.wins, judged.decisive)} decisive" if judged.decisive else "no decisive vote"
    return (f"  {label:<9} rule followed: parent {share(*figures['parent'])}  DPO {share(*figures['new'])}\n"
            f"  {'':<9} {win} ({judged.ties} ties/both bad) -> {judged.outcome}; "
            f"BT gap DPO − parent {gap:+.0f} Elo, 95% bootstrap [{lo:+.0f}, {hi:+.0f}]")


def recompare_round(pool, new: str, parent: str, sets: dict[str, list[str]], sampling: GenerationOptions,
                    round_seed: int, rng: random.Random) -> tuple[dict[str, list[CompareRun]], dict[str, dict]]:
    """A blind round new vs parent on every set of prompts, voted by the rule, judged set by set."""
    runs = {name: sample(pool, [parent, new], prompts, sampling, round_seed) for name, prompts in sets.items()}
    return runs, {name: judge(r, blind_votes(r, rng), new, parent) for name, r in runs.items()}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--persona-records", type=int, default=48)
    parser.add_argument("--persona-epochs", type=int, default=2)
    parser.add_argument("--vote-prompts", type=int, default=60)
    parser.add_argument("--eval-prompts", type=int, default=40, help="held-out prompts never voted on")
    parser.add_argument("--repeat", type=int, default=2, help="re-compares with fresh seeds after the first")
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

    # 2. blind rounds base vs persona, voted by the rule; each prompt sampled from its own seed.
    pool = rt.adapter_pool
    sampling = GenerationOptions(temperature=1.0, top_p=0.95, max_new_tokens=args.max_new_tokens)
    votes = VoteStore(rt.settings.compare_dir / "votes.jsonl")
    t0 = time.perf_counter()
    runs = sample(pool, ["base", "huanhuan"], vote_prompts, sampling, args.seed)
    cast = blind_votes(runs, rng)
    for vote in cast:
        votes.add(vote)
    tally = {c: sum(v.choice == c for v in cast) for c in ("A", "B", "tie", "both_bad")}
    print(f"votes on {len(vote_prompts)} prompts, round seed {args.seed} ({time.perf_counter() - t0:.0f} s): {tally}; "
          f"rule followed by base {share(*rate(runs, 'base'))}, huanhuan {share(*rate(runs, 'huanhuan'))}", flush=True)

    # 3. export → DPO on top of the persona adapter.
    exported = preferences.export(rt.finetune.save_dataset, votes.all(), [])
    if exported.pairs_path is None:
        raise SystemExit("no decisive vote: nothing to train on (the persona adapters never follow the rule)")
    trained = list(dict.fromkeys(json.loads(line)["prompt"] for line in exported.pairs_path.read_text("utf-8").splitlines()))
    heldout = exported.heldout + eval_prompts
    assert not set(trained) & set(heldout) and not (set(trained) | set(heldout)) & used
    print(f"exported {exported.pairs} pairs on {len(trained)} prompts ({len(exported.heldout)} vote prompts held out), "
          f"vote set {exported.sha256[:12]}")
    info = train(rt, "huanhuan-dpo", exported.pairs_path, preset("dpo", parent="huanhuan"), exported.pairs_path.name)
    card = rt.adapters.get("huanhuan-dpo")
    print(f"DPO adapter: {info['steps']} steps, loss {info['first_loss']:.3f} -> {info['last_loss']:.3f}, "
          f"{info['seconds']:.0f} s; card parent={card.extra['parent']} vote_set={card.extra['vote_set_sha256'][:12]}",
          flush=True)

    # 4. blind re-compare on the trained prompts and the held-out ones (voted-but-held-out + never voted).
    new, parent = recompare.contestants(card)
    sets = {"train": trained, "held-out": heldout}
    t0 = time.perf_counter()
    first_runs, first = recompare_round(pool, new, parent, sets, sampling, args.seed + 1, rng)
    print(f"re-compare, round seed {args.seed + 1} ({time.perf_counter() - t0:.0f} s); per prompt: seed, set, "
          f"rule followed by parent/DPO, prompt")
    for name, runs in first_runs.items():
        for r in runs:
            print(f"  {r.options['seed']:>10} {name:<8} {'✓' if follows(answer(r, parent)) else '·'}"
                  f"{'✓' if follows(answer(r, new)) else '·'}  {r.prompts[0]}")
    for name, figures in first.items():
        print(report(name, figures))

    # The same seeds again: every answer must come back the same.
    again = {name: sample(pool, [parent, new], prompts, sampling, args.seed + 1) for name, prompts in sets.items()}
    pairs = [(answer(a, v), answer(b, v)) for name in sets for a, b in zip(first_runs[name], again[name]) for v in (parent, new)]
    print(f"re-run with the same seeds: {sum(x == y for x, y in pairs)}/{len(pairs)} answers identical", flush=True)

    # Fresh seeds: how much the figures move from one sample of answers to the next.
    rounds = [first]
    for r in range(1, args.repeat + 1):
        t0 = time.perf_counter()
        _, figures = recompare_round(pool, new, parent, sets, sampling, args.seed + 1 + r, rng)
        rounds.append(figures)
        print(f"repeat {r}, round seed {args.seed + 1 + r} ({time.perf_counter() - t0:.0f} s):")
        for name, f in figures.items():
            print(report(name, f), flush=True)
    if args.repeat:
        print(f"over {len(rounds)} re-compares (round seeds {args.seed + 1}..{args.seed + 1 + args.repeat}):")
        for name in sets:
            rates = [f[name]["new"][0] / max(f[name]["new"][1], 1) - f[name]["parent"][0] / max(f[name]["parent"][1], 1)
                     for f in rounds]
            gaps = [f[name]["gap"][0] for f in rounds]
            print(f"  {name:<9} DPO − parent rule-following {min(rates):+.0%} .. {max(rates):+.0%}; "
                  f"BT gap {min(gaps):+.0f} .. {max(gaps):+.0f} Elo; lower 95% bound of the gap "
                  f"{min(f[name]['gap'][1] for f in rounds):+.0f} .. {max(f[name]['gap'][1] for f in rounds):+.0f}")
    print(f"total {time.perf_counter() - started:.0f} s (under load: 5 engineers share 2 cores), "
          f"torch threads {torch.get_num_threads()}")


if __name__ == "__main__":
    main()
