import numpy as np
import pytest
import torch

from course import a2c, catch


def test_actor_critic_shapes_and_pieces_compose_to_forward():
    torch.manual_seed(0)
    net = a2c.ActorCritic()
    frames = torch.as_tensor(catch.Catch(5, seed=0).reset())
    hx = net.initial_state(5)
    assert hx.shape == (5, 128) and float(hx.abs().sum()) == 0
    logits, value, hx2 = net(frames, hx)
    assert logits.shape == (5, 3) and value.shape == (5,) and hx2.shape == (5, 128)
    feats = net.encode(frames)
    assert feats.shape == (5, a2c.FEATURES)
    l2, v2 = net.heads(net.memory(feats, hx))
    assert torch.allclose(l2, logits) and torch.allclose(v2, value)
    with pytest.raises(ValueError, match=r"frames must have shape \(n, 1, 80, 80\)"):
        net.encode(torch.zeros(2, 80, 80))


def test_training_is_deterministic_under_a_seed_and_logs_a_history():
    m1, h1 = a2c.train(frames=2 * 8 * 5, n_envs=8, n_step=5, eval_every=1, progress=False)
    m2, h2 = a2c.train(frames=2 * 8 * 5, n_envs=8, n_step=5, eval_every=1, progress=False)
    for p, q in zip(m1.parameters(), m2.parameters()):
        assert torch.equal(p, q)
    assert h1.steps == [40, 80] and h1["frames"] == [40, 80]
    assert set(h1.metrics) == {"frames", "catch_rate", "loss", "entropy"}
    assert 0.9 < h1.last("entropy") <= np.log(3) + 1e-6     # an untrained policy is near uniform
    m3, _ = a2c.train(frames=80, n_envs=8, n_step=5, seed=1, progress=False)
    assert not torch.equal(m1.actor.weight, m3.actor.weight)


def test_one_update_moves_the_policy_toward_a_rewarded_action():
    """With n_step = 16 every game ends inside the update: the advantage is the game's outcome."""
    torch.manual_seed(0)
    before = a2c.ActorCritic()
    after, _ = a2c.train(frames=64 * 16, n_envs=64, n_step=16, lr=1e-3, entropy_coef=0.0, progress=False)
    changed = sum(float((p - q).abs().sum()) for p, q in zip(before.parameters(), after.parameters()))
    assert changed > 0


def test_policy_plays_catch_and_resets_its_memory_where_a_game_restarts():
    torch.manual_seed(0)
    net = a2c.ActorCritic().eval()
    rate = catch.catch_rate(a2c.policy(net), episodes=20, n_envs=10)
    assert 0.0 <= rate <= 1.0
    act = a2c.policy(net)
    frames = catch.Catch(3, seed=0).reset()
    first = act(frames, np.ones(3, bool))
    again = a2c.policy(net)(frames, np.ones(3, bool))
    assert np.array_equal(first, again) and first.shape == (3,)


def test_rollout_records_the_unperturbed_memory_and_the_objects():
    torch.manual_seed(0)
    net = a2c.ActorCritic().eval()
    r = a2c.rollout(net, steps=20, n_envs=2, seed=3)
    assert r["frames"].shape == (20, 2, 1, 80, 80) and r["hidden_in"].shape == (20, 2, 128)
    assert r["ball"].shape == (20, 2, 2) and r["paddle"].shape == (20, 2)
    assert np.all(r["hidden_in"][0] == 0) and np.all(r["hidden_in"][catch.STEPS_PER_EPISODE] == 0)
    assert np.allclose(r["hidden_in"][1], r["hidden"][0])
    # replaying frame t from the recorded memory gives the recorded logits
    t = 5
    logits, value, _ = net(torch.as_tensor(r["frames"][t]), torch.as_tensor(r["hidden_in"][t]))
    assert np.allclose(logits.detach().numpy(), r["logits"][t], atol=1e-5)
    assert np.array_equal(r["actions"][t], r["logits"][t].argmax(-1))
    # the ball drawn in the frame is where the record says
    bx, by = r["ball"][t, 0]
    assert r["frames"][t, 0, 0, by:by + catch.BALL, bx:bx + catch.BALL].min() == 1.0
    assert r["done"][catch.STEPS_PER_EPISODE - 1].all()


def test_load_or_train_saves_then_loads_the_same_weights(tmp_path, capsys):
    path = tmp_path / "agent.pt"
    m1, h1 = a2c.load_or_train(path, frames=40, n_envs=8, n_step=5, progress=False)
    assert "trained" in capsys.readouterr().out and path.exists()
    m2, h2 = a2c.load_or_train(path, frames=40, n_envs=8, n_step=5, progress=False)
    assert "loaded" in capsys.readouterr().out
    for p, q in zip(m1.parameters(), m2.parameters()):
        assert torch.equal(p, q)
    assert h2.steps == h1.steps and h2.metrics == h1.metrics
    # other settings: retrained and overwritten
    a2c.load_or_train(path, frames=40, n_envs=8, n_step=5, seed=2, progress=False)
    assert "trained" in capsys.readouterr().out
    assert torch.load(path, weights_only=True)["config"]["seed"] == 2


def test_a_bare_checkpoint_name_goes_under_build_checkpoints():
    assert a2c._resolve("x.pt") == a2c.CHECKPOINT_DIR / "x.pt"
    assert a2c.CHECKPOINT_DIR.parts[-2:] == ("build", "checkpoints")


@pytest.mark.parametrize("call,match", [
    (lambda: a2c.train(frames=0), "frames must be an integer >= 1"),
    (lambda: a2c.train(frames=10, gamma=1.5), "gamma must be a number in"),
    (lambda: a2c.train(frames=10, hints="yes"), "hints must be one of"),
    (lambda: a2c.train(frames=10, lr=0), "lr must be a number > 0"),
    (lambda: a2c.train(frames=10, callback=3), "callback must be callable"),
    (lambda: a2c.load_or_train("x.pt", frame=10), "unknown settings"),
    (lambda: a2c.rollout(a2c.ActorCritic(), steps=0), "steps must be an integer >= 1"),
    (lambda: a2c.ActorCritic(hidden=0), "hidden must be an integer >= 1"),
])
def test_bad_input_is_rejected_with_a_sentence(call, match):
    with pytest.raises(ValueError, match=match):
        call()


def test_the_shared_agent_settings_are_the_settings_defaults():
    assert a2c.AGENT_SETTINGS == a2c.Settings().as_dict()
    assert a2c.AGENT_SETTINGS["frames"] == 300_000 and a2c.AGENT_SETTINGS["hints"] is None
    assert a2c.AGENT_CHECKPOINT.endswith(".pt") and "/" not in a2c.AGENT_CHECKPOINT


def test_defaults_are_written_once():
    """train and load_or_train take no setting of their own: every default comes from Settings."""
    import inspect
    fields = set(a2c.Settings().as_dict())
    for fn in (a2c.train, a2c.load_or_train):
        assert not fields & set(inspect.signature(fn).parameters), fn.__name__


def test_settings_replace_checks_and_names_unknown_fields():
    s = a2c.Settings().replace(frames=1000, hints="expert")
    assert s.frames == 1000 and s.hints == "expert" and a2c.Settings().frames == 300_000
    with pytest.raises(ValueError, match=r"unknown settings \['frame'\]"):
        a2c.Settings().replace(frame=3)
    with pytest.raises(ValueError, match="lr must be a number > 0"):
        a2c.Settings(lr=0)


def test_train_takes_a_settings_object_a_dict_or_changes_alike():
    a, _ = a2c.train(a2c.Settings(frames=40, n_envs=8, n_step=5), progress=False)
    b, _ = a2c.train({"frames": 40, "n_envs": 8, "n_step": 5}, progress=False)
    c, _ = a2c.train(frames=40, n_envs=8, n_step=5, progress=False)
    assert torch.equal(a.actor.weight, b.actor.weight) and torch.equal(a.actor.weight, c.actor.weight)


def test_callback_sees_the_history_and_the_model():
    seen = []
    a2c.train(frames=80, n_envs=8, n_step=5, eval_every=1, progress=False,
              callback=lambda h, m: seen.append((h.steps[-1], float(m.actor.weight.sum()))))
    assert [s for s, _ in seen] == [40, 80] and seen[0][1] != seen[1][1]


def test_the_network_takes_other_frame_sizes():
    assert a2c.features(80) == a2c.FEATURES == 800 and a2c.features(84) == 32 * 6 * 6
    net = a2c.ActorCritic(n_actions=6, size=84)
    logits, value, hx = net(torch.zeros(2, 1, 84, 84), net.initial_state(2))
    assert logits.shape == (2, 6) and value.shape == (2,)
    with pytest.raises(ValueError, match=r"\(n, 1, 84, 84\)"):
        net.encode(torch.zeros(2, 1, 80, 80))


def test_training_with_foreach_adam_equals_the_single_tensor_adam_bit_for_bit(monkeypatch):
    """`train` steps Adam with foreach=True (faster); the weights equal those of the default loop exactly."""
    fast, _ = a2c.train(frames=3 * 8 * 5, n_envs=8, n_step=5, hints="expert", progress=False)
    adam = torch.optim.Adam
    monkeypatch.setattr(torch.optim, "Adam", lambda params, **kw: adam(params, **{**kw, "foreach": False}))
    slow, _ = a2c.train(frames=3 * 8 * 5, n_envs=8, n_step=5, hints="expert", progress=False)
    for p, q in zip(fast.parameters(), slow.parameters()):
        assert torch.equal(p, q)


def test_the_convs_run_channels_last_and_compute_what_plain_convs_do():
    """The conv weights are NHWC (faster in oneDNN) from init and after loading a state dict saved
    from plain NCHW tensors; the features equal a plain NCHW encoder's to float32 round-off."""
    import torch.nn.functional as F
    torch.manual_seed(0)
    model = a2c.ActorCritic()
    plain = {k: v.contiguous() for k, v in model.state_dict().items()}
    fresh = a2c.ActorCritic()
    fresh.load_state_dict(plain)
    for net in (model, fresh):
        for conv in (net.conv1, net.conv2, net.conv3):
            assert conv.weight.is_contiguous(memory_format=torch.channels_last)
    frames = torch.rand(5, 1, 80, 80)
    x = frames
    for conv in (model.conv1, model.conv2, model.conv3):
        x = F.elu(F.conv2d(x, conv.weight.contiguous(), conv.bias, conv.stride, conv.padding))
    assert torch.allclose(fresh.encode(frames), x.flatten(1), atol=1e-5, rtol=1e-5)
    assert not torch.equal(fresh.encode(frames.flip(-1)), fresh.encode(frames))
