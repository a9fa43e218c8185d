"""Notebook 11's own code, where it lives (tests/nbimport.py): the three graded exercises pass with
their reference solutions and their checks fail on plausible wrong answers (a mask normalised to sum 1
or missing the 2 in 2 sigma^2 or with row and column swapped; a perturbation by a constant fill, by the
frame's mean or with the mix reversed; batched saliency scores on softmax-normalised outputs, without
the 1/2, averaged, from an empty memory, with actor and critic swapped, or one pass per mask); the
maps run on the student's `saliency_scores` (a wrong one changes them); the batched saliency equals
one pass per mask, is zero far from every object and keeps the recurrent memory; the upsampling puts
each score at its mask centre; the distance maps; replayed memories; the Explore panel's function;
the shipped weights (data/weights/11_*) still play as their provenance says; and section 7 (real Pong):
its localisation measure fails on maps that are not localised, runs on the student's `saliency_scores`,
and reads the agent's learning curve and provenance."""
import numpy as np
import pytest
import torch

from course import a2c, atari, blur, catch, weights
from tests.nbimport import definitions, run_check

NB = "11_atari_saliency"


@pytest.fixture(scope="module")
def ns():
    return definitions(NB)


@pytest.fixture(scope="module")
def net():
    torch.manual_seed(0)
    return a2c.ActorCritic().eval()


# ---------------------------------------------------------------- exercise 1: the mask
def test_mask_check_passes_with_the_reference_solution(ns):
    run_check(NB, "11_gaussian_mask_check", ns)


def _normalised_mask(center, sigma=5.0, size=80):
    m = _plain_mask(center, sigma, size)
    return m / m.sum()


def _plain_mask(center, sigma=5.0, size=80, two=2.0, swap=False):
    r = torch.arange(size, dtype=torch.float32)[:, None]
    c = torch.arange(size, dtype=torch.float32)[None, :]
    i, j = (center[1], center[0]) if swap else center
    return torch.exp(-((r - i) ** 2 + (c - j) ** 2) / (two * sigma ** 2))


@pytest.mark.parametrize("wrong", [
    _normalised_mask,                                                  # a probability, not a mixing weight
    lambda center, sigma=5.0, size=80: _plain_mask(center, sigma, size, two=1.0),   # exp(-d^2 / sigma^2)
    lambda center, sigma=5.0, size=80: _plain_mask(center, sigma, size, swap=True),  # (x, y) for (row, column)
    lambda center, sigma=5.0, size=80: _plain_mask(center, 5.0, size),                # sigma ignored
])
def test_mask_check_fails_on_wrong_masks(ns, wrong):
    with pytest.raises(AssertionError):
        run_check(NB, "11_gaussian_mask_check", ns, overrides={"gaussian_mask": wrong})


# ---------------------------------------------------------------- exercise 2: the perturbed frame
def test_perturb_check_passes_with_the_reference_solution(ns):
    run_check(NB, "11_perturb_check", ns)


@pytest.mark.parametrize("wrong", [
    lambda frame, mask, sigma_a=3.0: frame * (1 - mask),                           # constant fill 0
    lambda frame, mask, sigma_a=3.0: frame * (1 - mask) + frame.mean() * mask,     # constant fill: the mean
    lambda frame, mask, sigma_a=3.0: frame * (1 - mask) + 0.5 * mask,              # constant fill: grey
    lambda frame, mask, sigma_a=3.0: frame * mask + blur.gaussian_blur(frame, sigma_a) * (1 - mask),  # mix reversed
    lambda frame, mask, sigma_a=3.0: frame * (1 - mask) + blur.gaussian_blur(frame, 1.0) * mask,     # sigma_A ignored
])
def test_perturb_check_fails_on_wrong_perturbations(ns, wrong):
    with pytest.raises(AssertionError):
        run_check(NB, "11_perturb_check", ns, overrides={"perturb": wrong})


def test_perturb_check_fails_with_a_mask_not_of_peak_1(ns):
    with pytest.raises(AssertionError):
        run_check(NB, "11_perturb_check", ns, overrides={"gaussian_mask": _normalised_mask})


# ---------------------------------------------------------------- exercise 3: batched saliency scores
def test_scores_check_passes_with_the_reference_solution(ns):
    run_check(NB, "11_saliency_scores_check", ns)


def _scores(ns, *, softmax=False, half=0.5, reduce="sum", zero_memory=False, swap=False, loop=False):
    perturb = ns["perturb"]

    def wrong(model, frame, hx, masks, sigma_a=3.0):
        h = torch.zeros_like(hx) if zero_memory else hx
        with torch.no_grad():
            l0, v0, _ = model(frame[None, None], h)
            if loop:
                outs = [model(perturb(frame, m, sigma_a)[None, None], h) for m in masks]
                lp, vp = torch.cat([o[0] for o in outs]), torch.cat([o[1] for o in outs])
            else:
                lp, vp, _ = model(perturb(frame, masks, sigma_a)[:, None], h.expand(len(masks), -1))
        if softmax:
            l0, lp = l0.softmax(-1), lp.softmax(-1)
        d = (l0 - lp) ** 2
        actor = half * (d.sum(-1) if reduce == "sum" else d.mean(-1))
        critic = half * (v0 - vp) ** 2
        return (critic, actor) if swap else (actor, critic)
    return wrong


@pytest.mark.parametrize("kind", [dict(softmax=True), dict(half=1.0), dict(reduce="mean"), dict(zero_memory=True),
                                  dict(swap=True), dict(loop=True)],
                         ids=["softmax", "no_half", "mean", "zero_memory", "swapped", "one_pass_per_mask"])
def test_scores_check_fails_on_wrong_scores(ns, kind):
    with pytest.raises(AssertionError):
        run_check(NB, "11_saliency_scores_check", ns, overrides={"saliency_scores": _scores(ns, **kind)})


def test_the_reference_is_one_of_the_wrong_answers_switched_off(ns):
    run_check(NB, "11_saliency_scores_check", ns, overrides={"saliency_scores": _scores(ns)})


def test_the_maps_run_on_the_students_saliency_scores(net):
    """Replacing the student's function with a wrong one changes every later map (and what is built on it)."""
    right, wrong = definitions(NB), definitions(NB)
    wrong["saliency_scores"] = _scores(wrong, zero_memory=True)
    r = a2c.rollout(net, steps=6, seed=1, n_envs=2)
    a_right, _ = right["saliency_maps"](net, r["frames"][5, 0, 0], r["hidden_in"][5, 0])
    a_wrong, _ = wrong["saliency_maps"](net, r["frames"][5, 0, 0], r["hidden_in"][5, 0])
    assert not torch.allclose(a_right, a_wrong)
    shares = [ns_["object_shares"](ns_["actor_maps"](net, r, r["hidden_in"]), r).tolist() for ns_ in (right, wrong)]
    assert shares[0] != shares[1]


# ---------------------------------------------------------------- the method
def _frame_and_memory(net, t=5, seed=1):
    r = a2c.rollout(net, steps=t + 1, seed=seed)
    return r, torch.as_tensor(r["frames"][t, 0, 0]), torch.as_tensor(r["hidden_in"][t, 0])


def test_grid_masks_and_upsampling_put_each_score_at_its_centre(ns):
    masks = ns["grid_masks"](5, 5.0)
    assert masks.shape == (256, 80, 80)
    assert float(masks[0, 2, 2]) == pytest.approx(1.0) and float(masks[17, 7, 7]) == pytest.approx(1.0)
    scores = torch.zeros(16, 16)
    scores[3, 11] = 1.0
    up = ns["upsample"](scores)
    assert up.shape == (80, 80)
    assert np.unravel_index(int(up.argmax()), (80, 80)) == (3 * 5 + 2, 11 * 5 + 2)


def test_batched_saliency_equals_one_pass_per_mask_and_is_zero_far_from_objects(ns, net):
    r, frame, hx = _frame_and_memory(net)
    actor, critic = ns["saliency_maps"](net, frame, hx)
    assert actor.shape == (80, 80) and critic.shape == (80, 80)
    masks = ns["grid_masks"](5, 5.0)
    with torch.no_grad():
        base_l, base_v, _ = net(frame[None, None], hx[None])
        for k in (0, 37, 130, 255):
            pl, pv, _ = net(ns["perturb"](frame, masks[k], 3.0)[None, None], hx[None])
            i, j = divmod(k, 16)
            want_a = 0.5 * float(((pl - base_l) ** 2).sum())
            assert float(actor[5 * i + 2, 5 * j + 2]) == pytest.approx(want_a, rel=1e-3, abs=1e-9)
            assert float(critic[5 * i + 2, 5 * j + 2]) == pytest.approx(0.5 * float((pv - base_v) ** 2), rel=1e-3, abs=1e-9)
    dist = ns["object_distance"](r["ball"][5, 0], r["paddle"][5, 0])
    far = dist > 40
    assert far.any() and float(actor.numpy()[far].max()) < 1e-6 * max(float(actor.max()), 1e-12) + 1e-12


def test_masks_built_once_give_the_same_maps_bit_for_bit(ns, net):
    """The loops (locality, actor_maps, hint_share, Pong) pass grid_masks built once: the same maps exactly."""
    _, frame, hx = _frame_and_memory(net)
    masks = ns["grid_masks"](5, 5.0)
    for a, b in zip(ns["saliency_maps"](net, frame, hx), ns["saliency_maps"](net, frame, hx, 5.0, 3.0, 5, masks)):
        assert torch.equal(a, b)
    assert torch.equal(ns["footprint_map"](frame), ns["footprint_map"](frame, 5.0, 3.0, 5, masks))


def test_saliency_uses_the_memory_of_the_unperturbed_rollout(ns, net):
    _, frame, hx = _frame_and_memory(net)
    with_memory, _ = ns["saliency_maps"](net, frame, hx)
    without, _ = ns["saliency_maps"](net, frame, torch.zeros_like(hx))
    assert not torch.allclose(with_memory, without)


def test_jacobian_map_is_the_gradient_of_the_greedy_logit(ns, net):
    _, frame, hx = _frame_and_memory(net)
    jac = ns["jacobian_map"](net, frame, hx)
    assert jac.shape == (80, 80) and float(jac.min()) >= 0
    x = frame.clone()
    with torch.no_grad():
        logits, _, _ = net(x[None, None], hx[None])
        a = int(logits.argmax())
        eps = 1e-2
        x[40, 40] += eps
        moved = (net(x[None, None], hx[None])[0][0, a] - logits[0, a]) / eps
    assert abs(float(moved)) == pytest.approx(float(jac[40, 40]), rel=0.05, abs=1e-5)


def test_object_distance_and_overlay(ns):
    d = ns["object_distance"]((10, 20), 30)          # ball at x 10, y 20; paddle from x 30
    assert d[20, 10] == 0 and d[23, 13] == 0 and d[79, 45] == 0
    assert d[20, 17] == pytest.approx(4.0)            # 4 px right of the ball's last column (13)
    assert d[70, 30] == pytest.approx(6.0)            # 6 rows above the paddle (row 76)
    rgb = ns["overlay"](np.zeros((80, 80)), actor=np.eye(80), critic=None)
    assert rgb.shape == (80, 80, 3) and rgb[5, 5, 2] == 1.0 and rgb[5, 5, 0] == 0.0


def test_explore_returns_the_peak_distance(ns, net):
    r = a2c.rollout(net, steps=4, seed=2)
    d = ns["explore"](frame=2, sigma=4.0, which="critic", model=net, record=r, show=False)
    assert isinstance(d, float) and 0.0 <= d <= 120.0


def test_hint_rows_are_the_catch_hint_rows():
    assert catch.HINT_ROWS == slice(0, 4) and catch.BALL_TOP >= 8


def test_replayed_memory_is_the_rollouts_own_memory(ns, net):
    r = a2c.rollout(net, steps=catch.STEPS_PER_EPISODE + 3, seed=4, n_envs=2)
    assert np.allclose(ns["replay_memory"](net, r), r["hidden_in"], atol=1e-6)


def test_checkpoints_are_picked_around_the_take_off(ns):
    greedy = {16: 0.25, 32: 0.2, 48: 0.3, 64: 0.6, 80: 0.95, 96: 0.99, 100: 1.0}
    assert ns["pick_checkpoints"](greedy) == (16, 48, 80, 100)
    assert ns["pick_checkpoints"]({16: 0.25, 30: 0.24}) == (16, 30, None, 30)
    assert ns["cosine"](np.eye(3), 2 * np.eye(3)) == pytest.approx(1.0)


def test_ball_and_paddle_distances_split_the_object_distance(ns):
    b, p = ns["ball_distance"]((10, 20)), ns["paddle_distance"](30)
    assert np.array_equal(np.minimum(b, p), ns["object_distance"]((10, 20), 30))
    assert b[20, 10] == 0 and p[79, 30] == 0 and p[20, 10] > 50


def test_locality_measures_every_frame(ns, net):
    r = a2c.rollout(net, steps=2, seed=3, n_envs=2)
    peak, pert, jac, n = ns["locality"](net, r)
    assert n == 4 and 0 <= peak <= 1 and 0 <= pert <= 1 and 0 <= jac <= 1


def test_train_agent_keeps_snapshots_at_the_log_points(ns):
    model, history, kept = ns["train_agent"](640, keep=(640, 999), device="cpu")
    assert history.steps == [640] and list(kept) == [640]          # 2 updates of 320 frames: one log, at the end
    restored = ns["agent_from"](kept[640])
    assert torch.equal(restored.actor.weight, model.actor.weight)
    restored.actor.weight.data.zero_()
    assert not torch.equal(restored.actor.weight, model.actor.weight)   # a copy, not the live weights


# ---------------------------------------------------------------- the shipped weights (class mode)
@pytest.mark.parametrize("name,hints,card", [
    ("11_catch_agent", None, "greedy catch rate of these float16 weights, 200 new games (seed 1000)"),
    ("11_overfit_agent", "expert", "true-hint catch rate of these float16 weights, 200 new games (seed 1000)"),
])
def test_shipped_agents_still_play_as_recorded(name, hints, card):
    """FAST shows these agents; a change of the model code that breaks them fails here (a few seconds)."""
    if name != "11_catch_agent" and not (weights.shipped_dir() / f"{name}.pt").exists():
        pytest.skip(f"{name} is not shipped yet: 11's recording FULL run makes it (FAST shows its own agent meanwhile)")
    model = a2c.ActorCritic()
    info = weights.load_weights(model, name)
    assert info["notebook"] == NB and info["bytes"] < 1 * 2 ** 20
    got = catch.catch_rate(a2c.policy(model.eval()), episodes=200, seed=1000, hints=hints)
    assert got == pytest.approx(info["cards"][card], abs=0.02)
    assert info["settings"]["history"]["catch_rate"], "the learning curve FAST draws"


def test_shipped_weights_of_11_stay_small():
    sizes = [p.stat().st_size for p in weights.shipped_dir().glob("11_*.pt")]
    assert 1 <= len(sizes) <= 3 and sum(sizes) <= 2.5 * 2 ** 20


# ---------------------------------------------------------------- section 7: real Pong
@pytest.fixture(scope="module")
def pong():
    """A small untrained Pong network and 80 steps of its greedy game (real frames, its own memory)."""
    with torch.random.fork_rng():
        model = atari.new_model(atari.Settings(hidden=16), n_actions=6).eval()
    return model, atari.play(model, "Pong", steps=80, seed=0, keep_frames=True)


def test_pong_frames_are_picked_with_the_ball_in_view(ns, pong):
    _, game = pong
    times = ns["pick_pong_frames"](game, 5)
    assert 1 <= len(times) <= 5 and times == sorted(set(times))
    assert all(atari.pong_objects(game["frames"][t])["ball"].any() for t in times)


def test_the_localisation_measure_fails_on_maps_that_are_not_localised(ns, pong):
    """A uniform map scores the region's area; a shuffled map about the same; a map on the wall scores little;
    a map on the objects alone (their blur footprint, the ceiling) scores nearly 1: the card could fail."""
    _, game = pong
    rng = np.random.default_rng(0)
    for t in ns["pick_pong_frames"](game, 3):
        frame = game["frames"][t, 0]
        near = ns["near_objects"](frame, 10.0)
        area = float(near["any"].mean())
        assert 0.05 < area < 0.35
        assert ns["object_share"](np.ones((80, 80)), frame, 10.0) == pytest.approx(area)
        ceiling = ns["footprint_map"](ns["without_wall"](frame)).numpy()
        assert ns["object_share"](ceiling, frame, 10.0) > 0.9
        shuffled = rng.permutation(ceiling.ravel()).reshape(80, 80)
        assert ns["object_share"](shuffled, frame, 10.0) < 0.5
        on_wall = np.zeros((80, 80))
        on_wall[76:, 30:50] = 1.0                        # the middle of the bottom wall, away from both paddles
        if not near["any"][76:, 30:50].any():
            assert ns["object_share"](on_wall, frame, 10.0) == 0.0
        assert np.isnan(ns["mass_share"](np.zeros((80, 80)), near["any"]))


def test_without_wall_leaves_only_the_ball_and_paddles(ns, pong):
    _, game = pong
    frame = game["frames"][40, 0]
    bare = ns["without_wall"](frame)
    assert np.all(bare[79] == np.float32(atari.PONG_FIELD / 255)) and np.array_equal(bare[:79], frame[:79])
    assert float(ns["footprint_map"](bare)[70:].sum()) < float(ns["footprint_map"](frame)[70:].sum())


def test_the_pong_section_runs_on_the_students_saliency_scores(pong):
    """Replacing the student's function with a wrong one (an empty memory) changes the Pong cards' numbers."""
    model, game = pong
    right, wrong = definitions(NB), definitions(NB)
    wrong["saliency_scores"] = _scores(wrong, zero_memory=True)
    times = right["pick_pong_frames"](game, 3)
    got = [ns_["pong_localisation"](model, game, times, 10.0)[0] for ns_ in (right, wrong)]
    assert got[0]["actor"] != got[1]["actor"] and got[0]["critic"] != got[1]["critic"]
    assert got[0]["jacobian"] == got[1]["jacobian"]          # the Jacobian map is not the student's
    assert set(got[0]) >= {"area", "actor", "critic", "jacobian", "footprint", "ceiling", "actor ball", "critic paddle"}


def test_pong_localisation_with_untrained_controls(ns, pong):
    model, game = pong
    times = ns["pick_pong_frames"](game, 2)
    with torch.random.fork_rng():
        other = atari.new_model(atari.Settings(hidden=16, seed=5), n_actions=6).eval()
    loc, n = ns["pong_localisation"](model, game, times, 10.0, controls=[model, other])
    assert n == len(times) and 0.0 <= loc["control actor"] <= 1.0
    assert loc["control 0 actor"] == pytest.approx(loc["actor"], rel=1e-4)   # replayed memory = the game's own memory
    assert loc["control 0 critic"] == pytest.approx(loc["critic"], rel=1e-4)
    assert loc["control actor"] == pytest.approx((loc["control 0 actor"] + loc["control 1 actor"]) / 2)


def test_score_at_reads_the_log_around_a_frame_count(ns):
    log = [{"frames": f, "score": s} for f, s in ((900_000, -21.0), (1_000_000, -19.0), (1_080_000, -17.0), (2_000_000, 0.0))]
    assert ns["score_at"](log, 1_000_000) == pytest.approx(-19.0)
    assert np.isnan(ns["score_at"](log, 5_000_000))
    assert ns["BABY_A3C_PONG"] == {1_000_000: -17.2, 5_000_000: 10.7, 10_000_000: 17.8}   # the paper's curve
    assert ns["BABY_A3C_FRAMESKIP"] == 3                   # Pong-v4: 2, 3 or 4 emulator frames per step


def test_pong_agent_says_which_agent_it_is(ns, tmp_path):
    model, facts = ns["pong_agent"](tmp_path / "missing.pt")
    assert model is None and "No Pong agent" in facts["says"] and facts["log"] == []
    if (weights.shipped_dir() / f"{atari.SHIPPED_AGENT}.pt").exists():
        model, facts = ns["pong_agent"]()
        assert model is not None and facts["frames"] > 0 and facts["says"].startswith("Weights from a FULL run")


def test_a_flat_map_locates_nothing(ns, pong):
    """A map no higher than the empty field's residue (an output that ignores the frame) counts as uniform."""
    _, game = pong
    frame = game["frames"][ns["pick_pong_frames"](game, 1)[0], 0]
    near = ns["near_objects"](frame, 10.0)["any"]
    noise = 1e-13 * (1 + np.random.default_rng(1).random((80, 80)))
    noise[near] *= 1.5                                   # noise that happens to sit on the objects
    assert ns["is_flat"](noise) and ns["located_share"](noise, near) == pytest.approx(near.mean())
    peaked = noise.copy()
    peaked[near] = 1e-3
    assert not ns["is_flat"](peaked) and ns["located_share"](peaked, near) > 0.99
    assert ns["is_flat"](np.zeros((80, 80))) and not ns["is_flat"](np.where(near, 1.0, 0.0))
