"""The finite-state extraction that 12_finite_state builds in its cells, tested where it lives.

The two graded exercises (the ternary activation with its straight-through gradient, Moore-machine
minimisation by partition refinement) pass with the reference solutions and their checks fail on
plausible wrong answers; known DFAs minimise to their known sizes; the don't-care minimiser agrees
with exact minimisation on complete machines; an extracted machine computes exactly what the
network with its bottleneck computes; the Explore function runs. A wrong student function changes
what the notebook computes later (the cells run on it); the shipped weights of the FULL run
(class mode: section 9's mode counters, section 10's Catch QBNs) still give their recorded cards.
"""
import numpy as np
import pytest
import torch

from course import memory_tasks, weights
from tests.nbimport import definitions, run_check

NB = "12_finite_state"
EXTRA = dict(QBN_LR=3e-3, TEST_MAX_LEN=50, SEED=0, HIDDEN=32)


@pytest.fixture(scope="module")
def ns():
    return definitions(NB, extra=EXTRA)


def blown_up(grammar, copies, seed=0):
    """The grammar's minimal DFA with `copies` equivalent copies of every state, shuffled."""
    rng = np.random.default_rng(seed)
    table = np.array(memory_tasks.TRANSITIONS[grammar])
    n = len(table)
    acts = np.array([q in memory_tasks.ACCEPTING[grammar] for q in range(n)], dtype=int)
    big = np.tile(table, (copies, 1)) + n * rng.integers(0, copies, size=(n * copies, 2))
    perm = rng.permutation(n * copies)
    inv = np.argsort(perm)
    return inv[big[perm]], np.tile(acts, copies)[perm], int(inv[0])


# ---------------------------------------------------------------- exercise 1: ternary activation
def test_ternary_check_passes_with_the_reference_solution(ns):
    run_check(NB, "12_finite_state_ternary_check", ns)


def _smooth(x):
    return 1.5 * torch.tanh(x) + 0.5 * torch.tanh(-3 * x)


WRONG_TERNARY = {
    "binary-sign": lambda x: x + (torch.sign(x) - x).detach(),
    "binary-smooth-sign": lambda x: _smooth(x) + (torch.sign(_smooth(x)) - _smooth(x)).detach(),
    "no-straight-through": lambda x: torch.round(_smooth(x)),
    "identity-straight-through": lambda x: x + (torch.round(_smooth(x)) - x).detach(),
    "round-tanh-only": lambda x: torch.tanh(x) + (torch.round(torch.tanh(x)) - torch.tanh(x)).detach(),
    "smooth-no-rounding": _smooth,
}


@pytest.mark.parametrize("name", list(WRONG_TERNARY))
def test_ternary_check_fails_on_plausible_wrong_answers(ns, name):
    with pytest.raises(AssertionError):
        run_check(NB, "12_finite_state_ternary_check", ns, overrides={"ternary_tanh": WRONG_TERNARY[name]})


def test_ternary_values_and_gradient(ns):
    x = torch.tensor([-2.0, -0.3, 0.0, 0.4, 2.0], requires_grad=True)
    y = ns["ternary_tanh"](x)
    assert y.tolist() == [-1.0, 0.0, 0.0, 0.0, 1.0]
    y.sum().backward()
    assert torch.allclose(x.grad, torch.autograd.grad(_smooth(x).sum(), x)[0])


# ---------------------------------------------------------------- exercise 2: minimisation
def test_minimise_check_passes_with_the_reference_solution(ns):
    run_check(NB, "12_finite_state_minimise_check", ns)


def _refine(table, block, rounds):
    table = np.asarray(table)
    for _ in range(rounds):
        succ = np.where(table >= 0, block[np.maximum(table, 0)], -1)
        _, new = np.unique(np.column_stack([block, succ]), axis=0, return_inverse=True)
        block = new.reshape(-1)
    return block


def no_action_split(table, actions):          # starts from one block: merges states with different actions
    return _refine(table, np.zeros(len(table), dtype=int), 10)


def actions_only(table, actions):             # no refinement at all
    return np.unique(np.asarray(actions), return_inverse=True)[1].reshape(-1)


def one_round(table, actions):                # stops after a single refinement
    return _refine(table, actions_only(table, actions), 1)


def unknown_is_block_zero(table, actions):    # treats -1 as a transition into block 0
    table = np.asarray(table)
    block = actions_only(table, actions)
    while True:
        succ = block[np.maximum(table, 0)]
        _, new = np.unique(np.column_stack([block, succ]), axis=0, return_inverse=True)
        new = new.reshape(-1)
        if new.max() == block.max():
            return new
        block = new


def count_only(table, actions):               # returns the number of states, not the labels
    return len(np.unique(_refine(table, actions_only(table, actions), 10)))


@pytest.mark.parametrize("wrong", [no_action_split, actions_only, one_round, unknown_is_block_zero, count_only],
                         ids=lambda f: f.__name__)
def test_minimise_check_fails_on_plausible_wrong_answers(ns, wrong):
    with pytest.raises(AssertionError):
        run_check(NB, "12_finite_state_minimise_check", ns, overrides={"minimise": wrong})


@pytest.mark.parametrize("grammar", range(1, 8))
def test_known_dfas_minimise_to_their_known_size(ns, grammar):
    table, actions, start = blown_up(grammar, 4, seed=grammar)
    exact = ns["minimise"](table, actions)
    partial = ns["minimise_partial"](table, actions)
    assert len(np.unique(exact)) == memory_tasks.minimal_states(grammar)
    assert len(np.unique(partial)) == memory_tasks.minimal_states(grammar)
    # the quotient machine recognises the same language
    mm = ns["quotient"](dict(table=table, actions=actions, start=start), exact)
    strings, labels = memory_tasks.sample_strings(grammar, 200, max_len=20, min_len=0, seed=grammar)
    assert ns["machine_accuracy"](mm["table"], mm["actions"], mm["start"], strings, labels) == 1.0


def test_minimise_partial_merges_through_dont_cares(ns):
    # states 0 and 1 agree wherever both are known; state 2 differs from 0 on symbol 0
    table = np.array([[3, -1], [-1, 3], [4, 3], [3, 3], [4, 4]])
    actions = np.array([0, 0, 0, 0, 1])
    g = ns["minimise_partial"](table, actions)
    assert g[0] == g[1] and g[0] != g[2] and g[3] != g[4]
    assert ns["minimise"](table, actions)[0] != ns["minimise"](table, actions)[1]   # exact keeps them apart
    # a negative action is a don't-care: the start can join any state
    g = ns["minimise_partial"](np.array([[1], [1]]), np.array([-1, 0]))
    assert g[0] == g[1]


def test_minimise_mce_counts_states_and_observation_classes(ns):
    # an Amnesia-like machine: 4 states (+ a start), 8 observation codes, two per mode
    table = np.array([[1 + s // 2 for s in range(8)]] * 5)
    machine = dict(table=table, actions=np.array([3, 0, 1, 2, 3]), start=0)
    _, n_states, n_obs = ns["minimise_mce"](machine)
    assert (n_states, n_obs) == (4, 4)


def test_the_class_table_agrees_with_every_known_symbol_transition(ns):
    # the machine plays on observation classes: each class's transition is that of every symbol of the class
    # wherever the symbol's transition is known, and known wherever one of its symbols is
    rng = np.random.default_rng(3)
    table = np.array([[1 + s // 2 for s in range(8)]] * 5)
    table[rng.random(table.shape) < 0.3] = -1                          # unseen pairs
    mm, _, n_obs = ns["minimise_mce"](dict(table=table, actions=np.array([3, 0, 1, 2, 3]), start=0))
    ct, cls = mm["class_table"], mm["obs_class"]
    assert ct.shape == (len(mm["table"]), n_obs)
    for q in range(len(mm["table"])):
        for s in range(table.shape[1]):
            if mm["table"][q, s] >= 0:
                assert ct[q, cls[s]] == mm["table"][q, s]



# ---------------------------------------------------------------- extraction is exact
@pytest.mark.parametrize("complete", [False, True])
def test_extracted_machine_computes_what_the_mmn_computes(ns, complete):
    torch.manual_seed(0)
    policy, qbn = ns["GRUPolicy"](2, 2, 16), ns["QBN"](16, 4)
    strings, _ = memory_tasks.sample_strings(4, 200, max_len=15, min_len=0, seed=1)
    m = ns["tomita_machine"](policy, qbn, strings, complete=complete)
    if complete:
        assert (m["table"] >= 0).all()
        strings = memory_tasks.sample_strings(4, 200, max_len=30, min_len=0, seed=2)[0]   # fresh strings too
    with torch.no_grad():
        mmn = ns["tomita_logits"](policy, strings, hqbn=qbn).argmax(1).numpy()
    sym, lens = memory_tasks.encode(strings)
    got = ns["run_machine"](m["table"], m["actions"], m["start"], sym, lens)
    assert (got == mmn).all()


def test_qbn_codes_are_ternary(ns):
    qbn = ns["QBN"](32, 8)
    codes = qbn.encode(torch.randn(100, 32) * 3)
    assert set(codes.unique().tolist()) <= {-1.0, 0.0, 1.0} and codes.shape == (100, 8)


def test_explore_runs_and_reports(ns):
    import matplotlib
    matplotlib.use("Agg")
    out = ns["explore"](grammar=1, bits=4, finetune=20, rnn_steps=30, qbn_steps=20, show=False)
    assert set(out) == {"rnn_acc", "mmn_acc", "states", "min_states", "machine_acc"}
    assert 1 <= out["min_states"] <= out["states"]


# ---------------------------------------------------------------- the notebook runs on the student's functions
def _binary_ste(x):                           # a plausible wrong tau: sign with a straight-through gradient
    y = torch.tanh(x)
    return y + (torch.sign(y) - y).detach()


def test_a_wrong_ternary_tanh_changes_the_extracted_machine(ns):
    torch.manual_seed(0)
    policy, qbn = ns["GRUPolicy"](2, 2, 16), ns["QBN"](16, 4)
    strings, _ = memory_tasks.sample_strings(4, 200, max_len=15, min_len=0, seed=1)
    right = ns["tomita_machine"](policy, qbn, strings)
    saved = ns["ternary_tanh"]
    try:
        ns["ternary_tanh"] = _binary_ste             # what QBN.encode calls: the student's function
        wrong = ns["tomita_machine"](policy, qbn, strings)
        codes = qbn.encode(torch.randn(50, 16))
    finally:
        ns["ternary_tanh"] = saved
    assert 0.0 not in codes.unique().tolist()
    assert len(wrong["table"]) != len(right["table"])


def test_a_wrong_minimise_changes_the_minimised_machine(ns):
    # minimise_partial (every result of sections 7-10) starts from the student's minimise
    table, actions, start = blown_up(4, 4, seed=4)
    right = ns["minimise_partial"](table, actions)
    saved = ns["minimise"]
    try:
        ns["minimise"] = no_action_split
        wrong = ns["minimise_partial"](table, actions)
    finally:
        ns["minimise"] = saved
    strings, labels = memory_tasks.sample_strings(4, 200, max_len=20, min_len=0, seed=4)
    acc = lambda block: (lambda mm: ns["machine_accuracy"](mm["table"], mm["actions"], mm["start"], strings, labels))(
        ns["quotient"](dict(table=table, actions=actions, start=start), np.asarray(block)))
    assert acc(right) == 1.0 and acc(wrong) < 1.0


# ---------------------------------------------------------------- class mode: shipped weights still give their cards
def _shipped(name):
    return (weights.shipped_dir() / f"{name}.pt").exists()


@pytest.mark.parametrize("variant", memory_tasks.VARIANTS)
def test_shipped_mode_counter_weights_reproduce_their_cards(ns, variant):
    name = f"12_mce_{variant}"
    if not _shipped(name):
        pytest.skip(f"{name}.pt not shipped")
    info = weights.provenance(name)
    bundle = ns["mce_bundle"](info["settings"]["bits_h"], info["settings"]["bits_f"])
    weights.load_weights(bundle, name)
    obs, _ = (torch.as_tensor(a) for a in memory_tasks.mode_counter(variant, 64, 300, seed=0))
    test_obs, test_modes = (torch.as_tensor(a) for a in memory_tasks.mode_counter(variant, 20, 300, seed=100))
    r = ns["mce_extract"](bundle, obs, test_obs, test_modes)
    assert abs(r["machine_acc"] - info["cards"]["machine_acc"]) <= 0.01
    assert (r["H"], r["O"]) == (info["cards"]["H"], info["cards"]["O"])


def test_shipped_catch_qbns_reproduce_their_machine(ns):
    if not (_shipped("12_catch_qbns") and _shipped("11_catch_agent")):
        pytest.skip("12_catch_qbns.pt or 11_catch_agent.pt not shipped")
    from course import a2c
    info = weights.provenance("12_catch_qbns")
    agent = a2c.ActorCritic(hidden=a2c.Settings().hidden)
    weights.load_weights(agent, "11_catch_agent")
    bh, bf = info["settings"]["bits_h"], info["settings"]["bits_f"]
    qbns = torch.nn.ModuleDict(dict(hqbn=ns["QBN"](agent.hidden, bh), fqbn=ns["QBN"](a2c.features(), bf, out="linear")))
    weights.load_weights(qbns, "12_catch_qbns")
    cm = ns["catch_machine"](agent.eval(), qbns["hqbn"], qbns["fqbn"], steps=1500)
    _, n_h, n_o = ns["minimise_mce"](cm)
    assert (n_h, n_o) == (info["cards"]["H"], info["cards"]["O"])


# ---------------------------------------------------------------- Pong (section 10): the real Atari pipeline
def _pong_mmn(ns, seed=0):
    """An untrained Pong agent (GRU 32) with QBNs trained briefly on its own play (the notebook's train_qbn):
    an MMN whose machine has a few states, observation classes and actions."""
    from course import atari
    torch.manual_seed(seed)
    agent = atari.PongAgent(n_actions=6, hidden=32).eval()
    log = {}
    ns["pong_scores"](ns["agent_player"](agent, log=log), [0, 6], 150, log=log)
    memory = torch.as_tensor(np.stack(log["memory"]).reshape(-1, agent.hidden))
    features = torch.as_tensor(np.stack(log["features"]).reshape(-1, log["features"][0].shape[-1]))
    hq, _ = ns["train_qbn"](memory, memory, 8, 150, lambda q: 0.0, every=150, seed=seed)
    fq, _ = ns["train_qbn"](features, features, 8, 150, lambda q: 0.0, out="linear", every=150, seed=seed)
    return agent, hq, fq


def _logged(player, actions):
    def act(frames, done):
        a = np.asarray(player(frames, done))
        actions.append(a.copy())
        return a
    act.state = getattr(player, "state", None)
    return act


def _pong_replay(ns, agent, hq, fq, machine, minimal, noops, steps):
    """Actions of the MMN and of the machine (as a player) on the same games, step by step."""
    mmn, played = [], []
    ns["pong_scores"](_logged(ns["agent_player"](agent, hq, fq), mmn), noops, steps)
    player = ns["machine_player"](agent, fq, machine, minimal)
    ns["pong_scores"](_logged(player, played), noops, steps)
    return np.array(mmn), np.array(played), float(np.mean(player.state["misses"]))


def _pong_extracted(ns, noops=(0, 6), steps=150):
    # the small MMN and the machine extracted from its games with these no-op starts
    agent, hq, fq = _pong_mmn(ns)
    games = ns["PongGames"](list(noops))
    machine = ns["agent_machine"](agent, hq, fq, games, steps)
    games.close()
    return agent, hq, fq, machine, list(noops), steps


def test_pong_machine_replays_the_mmn_on_its_own_games(ns):
    # extraction is exact: on the games it was read from, the extracted machine (and its minimised quotient)
    # takes the MMN's action at every step and never needs the nearest-symbol fallback
    agent, hq, fq, machine, noops, steps = _pong_extracted(ns)
    assert len(set(machine["actions"].tolist())) > 1, "the test machine should take more than one action"
    mmn, played, misses = _pong_replay(ns, agent, hq, fq, machine, machine, noops, steps)
    assert mmn.shape == (steps, 2) and (played == mmn).all() and misses == 0
    minimal, n_h, n_o = ns["minimise_mce"](machine)
    assert n_h <= len(machine["table"]) and n_o <= len(machine["obs_codes"])
    _, played_min, misses_min = _pong_replay(ns, agent, hq, fq, machine, minimal, noops, steps)
    assert (played_min == mmn).all() and misses_min == 0


def test_pong_replay_check_fails_on_a_wrong_machine(ns):
    # the same check catches a machine whose transitions are read with the wrong symbols
    agent, hq, fq, machine, noops, steps = _pong_extracted(ns)
    wrong = dict(machine, table=np.roll(machine["table"], 1, axis=1))          # symbol s read as s + 1
    mmn, played, misses = _pong_replay(ns, agent, hq, fq, machine, wrong, noops, steps)
    assert misses > 0 or (played != mmn).any()


def test_pong_windows_start_from_the_memory_before_them(ns):
    T, d, hidden = 70, 5, 3
    data = dict(alive=np.ones((T, 2), dtype=bool), features=np.random.default_rng(0).normal(size=(T, 2, d)).astype(np.float32),
                memory=np.arange(T * 2 * hidden, dtype=np.float32).reshape(T, 2, hidden), action=np.arange(T * 2).reshape(T, 2) % 6)
    data["alive"][60:, 1] = False                                    # game 1 ended after 60 steps
    h0, feats, acts = ns["pong_windows"](data, [0, 1], 32)
    assert h0.shape == (2 + 1, hidden) and feats.shape == (3, 32, d) and acts.shape == (3, 32)
    assert (h0[0] == 0).all() and torch.equal(h0[1], torch.as_tensor(data["memory"][31, 0]))
    assert torch.equal(feats[2], torch.as_tensor(data["features"][:32, 1]))


def test_pong_noop_starts_are_disjoint(ns):
    kinds = [set(ns["pong_noops"](k, n)) for k, n in (("record", 4), ("extract", 4), ("score", 8))]
    assert not (kinds[0] & kinds[1] or kinds[0] & kinds[2] or kinds[1] & kinds[2])
    assert max(max(k) for k in kinds) <= 30                          # the usual protocol: at most 30 no-ops


def test_shipped_pong_qbns_reproduce_their_probe(ns):
    if not (_shipped("12_pong_qbns") and _shipped("pong_agent")):
        pytest.skip("12_pong_qbns.pt or pong_agent.pt not shipped")
    from course import a2c, atari
    info = weights.provenance("12_pong_qbns")
    if info["settings"]["agent"] != atari.SHIPPED_AGENT:
        pytest.skip("these QBNs were trained on a training checkpoint, not the shipped agent")
    agent = atari.load_agent()
    bh, bf = info["settings"]["bits_h"], info["settings"]["bits_f"]
    qbns = torch.nn.ModuleDict(dict(hqbn=ns["QBN"](agent.hidden, bh), fqbn=ns["QBN"](a2c.features(), bf, out="linear")))
    weights.load_weights(qbns, "12_pong_qbns")
    probe = ns["pong_probe"](agent, qbns["hqbn"], qbns["fqbn"])
    for key in ("probe_states", "probe_obs"):
        assert abs(probe[key] - info["cards"][key]) <= max(1, 0.1 * info["cards"][key]), (key, probe, info["cards"])


# ---------------------------------------------------------------- CartPole (section 9): the control task
@pytest.fixture(scope="module")
def cartpole_mmn(ns):
    """A GRU imitating the expert briefly (cp_imitate on 8 noisy expert episodes) and QBNs trained briefly on its
    own play (train_qbn): an MMN that balances for a while, with a few states and observation classes."""
    from course import cartpole
    torch.manual_seed(0)
    policy = ns["GRUPolicy"](4, 2, 32)
    d = cartpole.rollout(cartpole.expert, 8, seed=1, noise=0.2)
    ns["cp_imitate"](policy, d["observations"], d["expert"], d["alive"], 3, batch=8, lr=1e-2)
    log = {}
    bn = cartpole.rollout(ns["cp_player"](policy, log=log), 4, seed=2, max_steps=200)
    part = lambda key: torch.as_tensor(np.stack(log[key])[bn["alive"]])
    hq, _ = ns["train_qbn"](part("memory"), part("memory"), 8, 100, lambda q: 0.0, every=100, seed=0)
    fq, _ = ns["train_qbn"](part("features"), part("features"), 8, 100, lambda q: 0.0, out="linear", every=100, seed=0)
    return ns["cartpole_bundle"](policy, hq, fq)


def test_cartpole_player_is_the_mmn_of_eq_4(ns, cartpole_mmn):
    # one step per call with the memory carried is GRUPolicy.run with both QBNs on the whole sequence
    from course import cartpole
    p, hq, fq = cartpole_mmn["policy"], cartpole_mmn["hqbn"], cartpole_mmn["fqbn"]
    log = {}
    played = cartpole.rollout(ns["cp_player"](p, hq, fq, log=log), 3, seed=5, max_steps=60)
    with torch.no_grad():
        hs = p.run(ns["cp_input"](played["observations"]).transpose(0, 1), hqbn=hq, fqbn=fq)
    assert torch.allclose(hs[:, 1:].transpose(0, 1), torch.as_tensor(np.stack(log["memory"])), atol=1e-6)
    assert (played["actions"] == np.stack(log["action"])).all()


def test_cartpole_machine_replays_the_mmn_on_its_own_episodes(ns, cartpole_mmn):
    # extraction is exact: on the episodes it was read from, the machine (and its minimised quotient, on observation
    # classes) takes the MMN's action at every step and never needs the nearest-code fallback
    from course import cartpole
    p, hq, fq = cartpole_mmn["policy"], cartpole_mmn["hqbn"], cartpole_mmn["fqbn"]
    mmn = cartpole.rollout(ns["cp_player"](p, hq, fq), 4, seed=7, max_steps=200)
    m = ns["extract_machine"](ns["MMN"](p, hq, fq), ns["cp_input"](mmn["observations"]).transpose(0, 1),
                              mmn["alive"].sum(0), complete=False)
    minimal, n_h, n_o = ns["minimise_mce"](m)
    assert len(set(m["actions"].tolist())) > 1 and n_h <= len(m["table"]) and n_o <= len(m["obs_codes"])
    for machine in (m, minimal):
        player = ns["machine_player"](ns["CartPoleFeatures"](p), fq, m, machine)
        replay = cartpole.rollout(lambda obs: player(obs, np.zeros(len(obs), dtype=bool)), 4, seed=7, max_steps=200)
        assert (replay["actions"][replay["alive"]] == mmn["actions"][mmn["alive"]]).all()
        assert (replay["returns"] == mmn["returns"]).all()
        assert not np.stack(player.state["misses"])[replay["alive"]].any()


def test_cartpole_replay_check_fails_on_a_wrong_machine(ns, cartpole_mmn):
    from course import cartpole
    p, hq, fq = cartpole_mmn["policy"], cartpole_mmn["hqbn"], cartpole_mmn["fqbn"]
    mmn = cartpole.rollout(ns["cp_player"](p, hq, fq), 4, seed=7, max_steps=200)
    m = ns["extract_machine"](ns["MMN"](p, hq, fq), ns["cp_input"](mmn["observations"]).transpose(0, 1),
                              mmn["alive"].sum(0), complete=False)
    wrong = dict(m, actions=1 - m["actions"])                                 # every state pushes the other way
    player = ns["machine_player"](ns["CartPoleFeatures"](p), fq, m, wrong)
    replay = cartpole.rollout(lambda obs: player(obs, np.zeros(len(obs), dtype=bool)), 4, seed=7, max_steps=200)
    assert (replay["returns"] != mmn["returns"]).any()


def test_cp_imitate_learns_the_expert_and_ignores_ended_steps(ns):
    from course import cartpole
    torch.manual_seed(1)
    policy = ns["GRUPolicy"](4, 2, 32)
    d = cartpole.rollout(cartpole.expert, 8, seed=3, noise=0.2)
    before = [q.detach().clone() for q in policy.parameters()]
    ns["cp_imitate"](policy, d["observations"], d["expert"], np.zeros_like(d["alive"]), 2, batch=8)
    assert all(torch.equal(a, b) for a, b in zip(before, policy.parameters()))   # nothing alive: no update
    ns["cp_imitate"](policy, d["observations"], d["expert"], d["alive"], 4, batch=8, lr=1e-2)
    log = {}
    ns["cp_player"](policy, log=log)(d["observations"][:, :, :].reshape(-1, 4)[:2000])
    agree = (log["action"][0] == d["expert"].reshape(-1)[:2000]).mean()
    assert agree > 0.8, agree


def test_cartpole_stack_pads_rounds_to_500_steps(ns):
    from course import cartpole
    short = cartpole.rollout(lambda obs: np.ones(len(obs), dtype=int), 3, seed=0)    # falls within 60 steps
    full = cartpole.rollout(cartpole.expert, 2, seed=1)
    d = ns["cp_stack"]([full, short])
    assert d["observations"].shape == (500, 5, 4) and d["alive"].shape == (500, 5)
    assert (d["alive"].sum(0)[2:] == short["returns"]).all() and d["alive"][:, :2].all()


def test_cartpole_run_tiny_end_to_end(ns):
    # the whole section-9 CartPole task at toy sizes: every number is there, and the bundle is the shippable shape
    r = ns["cartpole_run"](0, rounds=1, passes=1, qbn_steps=8, finetune=1)
    for key in ("rnn", "mmn", "machine", "expert", "H", "O", "states", "obs", "unknown", "seconds"):
        assert key in r, key
    assert 1 <= r["H"] <= r["states"] and 1 <= r["O"] <= r["obs"] and r["expert"] == 500
    ns["cartpole_bundle"]().load_state_dict(r["bundle"].state_dict())


def test_shipped_cartpole_weights_reproduce_their_cards(ns):
    if not _shipped("12_cartpole"):
        pytest.skip("12_cartpole.pt not shipped")
    info = weights.provenance("12_cartpole")
    bundle = ns["cartpole_bundle"]()
    weights.load_weights(bundle, "12_cartpole")
    r = ns["cartpole_measure"](bundle)
    assert (r["H"], r["O"], r["states"], r["obs"]) == tuple(info["cards"][k] for k in ("H", "O", "states", "obs"))
    assert abs(r["machine"] - info["cards"]["machine"]) <= 1 and abs(r["mmn"] - info["cards"]["mmn"]) <= 1


def test_mmn_training_runs_the_students_ternary_unless_it_is_the_reference(ns):
    # GRUPolicy.run takes course.mmn_bptt.run_mmn (bit-identical) only for the reference ternary_tanh; a wrong one runs
    from course import mmn_bptt
    torch.manual_seed(0)
    policy, hq, fq = ns["GRUPolicy"](1, 3, 16), ns["QBN"](16, 4), ns["QBN"](4, 4, out="linear")
    obs = torch.randn(8, 10, 1)
    calls = []
    real = mmn_bptt.run_mmn
    saved = ns["ternary_tanh"]
    try:
        mmn_bptt.run_mmn = lambda *a: calls.append(1) or real(*a)
        fast = policy.run(obs, hq, fq)
        assert calls == [1]
        with torch.no_grad():
            assert torch.equal(fast, policy.run(obs, hq, fq))          # the step loop: the same memories
        ns["ternary_tanh"] = _binary_ste
        wrong = policy.run(obs, hq, fq)
        assert calls == [1] and not torch.equal(wrong.detach(), fast.detach())
    finally:
        mmn_bptt.run_mmn = real
        ns["ternary_tanh"] = saved
