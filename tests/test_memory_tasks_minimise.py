"""course.memory_tasks' Moore-machine minimisation helpers (12_finite_state's speed path) against the
loops they replace: the same integers, exactly, on random partial and complete machines."""
import numpy as np
import pytest

from course import memory_tasks, validate


def machines(count=120, seed=0):
    rng = np.random.default_rng(seed)
    out = []
    for _ in range(count):
        n, k = int(rng.integers(1, 150)), int(rng.integers(1, 30))
        known = rng.choice([1.0, 0.7, 0.2, 0.03])
        table = np.where(rng.random((n, k)) < known, rng.integers(0, n, (n, k)), -1)
        out.append((table, rng.integers(-1, int(rng.integers(1, 4)), n)))
    for g in range(1, 8):                                      # DFAs with equivalent copies of their states
        t = np.array(memory_tasks.TRANSITIONS[g])
        big = np.tile(t, (6, 1)) + len(t) * rng.integers(0, 6, (6 * len(t), 2))
        out.append((big, np.array([q % len(t) in memory_tasks.ACCEPTING[g] for q in range(6 * len(t))], dtype=int)))
    return out


def old_incompatible(table, bad):
    # 12's minimise_partial loop before the speed path
    while True:
        new = bad.copy()
        for a in range(table.shape[1]):
            seen = np.nonzero(table[:, a] >= 0)[0]
            nxt = table[seen, a]
            new[np.ix_(seen, seen)] |= bad[np.ix_(nxt, nxt)]
        if (new == bad).all():
            return bad
        bad = new


def old_first_fit(bad):
    group, members = np.full(len(bad), -1), []
    for q in range(len(bad)):
        for gi, m in enumerate(members):
            if not bad[q, m].any():
                m.append(q)
                group[q] = gi
                break
        else:
            members.append([q])
            group[q] = len(members) - 1
    return group


def old_symbol_classes(table):
    t = table.T
    obs_class = np.zeros(len(t), dtype=int)
    for s in range(1, len(t)):
        differ = ((t[:s] != t[s]) & (t[:s] >= 0) & (t[s] >= 0)).any(1)
        taken = set(obs_class[:s][differ].tolist())
        obs_class[s] = next(c for c in range(s + 1) if c not in taken)
    return obs_class


def same(a, b):
    return np.array_equal(a, b) and np.asarray(a).dtype == np.asarray(b).dtype


def test_minimise_fast_gives_the_reference_labels():
    for table, actions in machines():
        assert same(memory_tasks.minimise_fast(table, actions), memory_tasks.reference_minimise(table, actions))


def test_minimise_fast_orders_rows_as_np_unique_does():
    # rows that differ first where one knows a successor and the other does not, or in the block only
    table = np.array([[-1, 1], [0, -1], [-1, -1], [2, 2], [-1, 1]])
    actions = np.array([0, 0, 0, 1, 1])
    assert same(memory_tasks.minimise_fast(table, actions), memory_tasks.reference_minimise(table, actions))


def test_minimiser_picks_the_fast_twin_only_for_the_reference_answer():
    def mine(table, actions):
        return memory_tasks.reference_minimise(table, actions)

    def relabelled(table, actions):                            # a valid partition, numbered differently
        b = memory_tasks.reference_minimise(table, actions)
        return b.max() - b

    def broken(table, actions):
        raise RuntimeError("not written yet")

    assert memory_tasks.minimiser(mine) is memory_tasks.minimise_fast
    assert memory_tasks.minimiser(relabelled) is relabelled
    assert memory_tasks.minimiser(broken) is broken
    with pytest.raises(TypeError):
        memory_tasks.minimiser("minimise")
    assert validate.matches_reference("minimise", mine, memory_tasks._probe_minimise)


def test_incompatible_and_first_fit_equal_the_loops():
    rng = np.random.default_rng(1)
    for table, actions in machines(80, seed=2):
        acts = np.where(rng.random(len(actions)) < 0.2, -1, actions)
        bad = (acts[:, None] != acts[None, :]) & (acts[:, None] >= 0) & (acts[None, :] >= 0)
        got, want = memory_tasks.incompatible(table, bad), old_incompatible(table, bad)
        assert same(got, want)
        assert same(memory_tasks.first_fit(got), old_first_fit(want))


def test_incompatible_mixes_dense_and_sparse_symbols():
    # symbols known to more than 64 states take the block path, the others the edge list
    rng = np.random.default_rng(3)
    n = 200
    table = np.where(rng.random((n, 6)) < np.array([1.0, 0.9, 0.1, 0.02, 0.3, 0.0]), rng.integers(0, n, (n, 6)), -1)
    acts = rng.integers(0, 3, n)
    bad = acts[:, None] != acts[None, :]
    assert same(memory_tasks.incompatible(table, bad), old_incompatible(table, bad))


def test_symbol_classes_equal_the_loop():
    for table, _ in machines(80, seed=4):
        assert same(memory_tasks.symbol_classes(table), old_symbol_classes(table))


def test_bad_inputs_are_refused():
    table, actions = np.array([[0, 1], [1, 0]]), np.array([0, 1])
    with pytest.raises(ValueError):
        memory_tasks.minimise_fast(table[0], actions)            # 1-D table
    with pytest.raises(ValueError):
        memory_tasks.minimise_fast(table, actions[:1])           # an action per state
    with pytest.raises(ValueError):
        memory_tasks.minimise_fast(table.astype(float), actions)
    with pytest.raises(ValueError):
        memory_tasks.minimise_fast(np.array([[0, 2], [1, 0]]), actions)   # no state 2
    with pytest.raises(ValueError):
        memory_tasks.incompatible(table, np.zeros((3, 3), bool))
    with pytest.raises(ValueError):
        memory_tasks.incompatible(np.array([[0, 5], [1, 0]]), np.zeros((2, 2), bool))
    with pytest.raises(ValueError):
        memory_tasks.first_fit(np.zeros((2, 3), bool))
    with pytest.raises(ValueError):
        memory_tasks.symbol_classes(table.astype(float))
