"""Speed perturbation, simulated reverberation and additive noise on synthetic signals."""

from __future__ import annotations

import numpy as np
import pytest

from crossdistill.data.augment.signal import (
    MAX_PEAK,
    RT60_RANGE_S,
    WALL_MARGIN_M,
    Room,
    add_noise,
    draw_room,
    perturb_speed,
    perturbed_length,
    reverberate,
    room_impulse_response,
    to_pcm16,
)

RATE = 16000


def tone(freq: float, seconds: float = 1.0) -> np.ndarray:
    return 0.5 * np.sin(2 * np.pi * freq * np.arange(int(seconds * RATE)) / RATE)


def dominant_frequency(audio: np.ndarray) -> float:
    spectrum = np.abs(np.fft.rfft(audio * np.hanning(audio.shape[0])))
    return float(np.argmax(spectrum) * RATE / audio.shape[0])


@pytest.mark.parametrize("speed", [0.9, 1.1, 0.95])
def test_speed_changes_length_and_pitch_together(speed):
    audio = tone(440.0, 1.3)
    copy = perturb_speed(audio, speed)
    assert copy.shape[0] == perturbed_length(audio.shape[0], speed) == round(audio.shape[0] / speed)
    assert dominant_frequency(copy) == pytest.approx(440.0 * speed, abs=1.5)


def test_speed_one_leaves_the_samples_alone():
    audio = tone(300.0)
    np.testing.assert_array_equal(perturb_speed(audio, 1.0), audio)


def test_noise_is_added_at_the_requested_snr():
    rng = np.random.default_rng(0)
    audio = tone(200.0)
    for snr, colour in [(0.0, "white"), (12.5, "pink"), (-3.0, "brown")]:
        noisy = add_noise(audio, snr, colour, rng)
        measured = 10 * np.log10(np.mean(audio**2) / np.mean((noisy - audio) ** 2))
        assert measured == pytest.approx(snr, abs=1e-6)


def test_rooms_are_drawn_inside_their_ranges():
    for seed in range(20):
        room = draw_room(np.random.default_rng(seed))
        assert RT60_RANGE_S[0] <= room.rt60_s <= RT60_RANGE_S[1]
        for point in (room.source, room.microphone):
            assert all(WALL_MARGIN_M <= x <= d - WALL_MARGIN_M for x, d in zip(point, room.dims, strict=True))
        assert draw_room(np.random.default_rng(seed)) == room


def test_reverberation_keeps_length_power_and_timing():
    room = Room((5.0, 4.0, 3.0), 0.3, (1.0, 1.5, 1.5), (3.5, 2.0, 1.2))
    response = room_impulse_response(room)
    room_impulse_response.cache_clear()
    np.testing.assert_array_equal(room_impulse_response(room), response)  # the simulation is deterministic
    # Clicks every 0.25 s: the wet signal's energy starts where each click is (the direct path, no delay).
    audio = np.zeros(RATE)
    clicks = np.arange(2000, RATE, 4000)
    audio[clicks] = 1.0
    wet = reverberate(audio, response)
    assert wet.shape == audio.shape
    assert np.mean(wet**2) == pytest.approx(np.mean(audio**2), rel=1e-9)
    lag = np.argmax(np.correlate(wet, audio, mode="full")) - (audio.shape[0] - 1)
    assert lag == 0
    # The strongest sample near the first click is the click itself; the response's tail follows it.
    assert abs(int(np.argmax(np.abs(wet[: clicks[1]]))) - clicks[0]) <= 1
    tail = np.sum(wet[clicks[0] + 100 : clicks[1]] ** 2) / np.sum(wet[: clicks[1]] ** 2)
    assert tail > 0.05


def test_pcm_is_scaled_down_only_when_it_would_clip():
    quiet = np.array([0.0, 0.5, -0.25])
    np.testing.assert_array_equal(to_pcm16(quiet), np.array([0, 16384, -8192], dtype=np.int16))
    loud = np.array([0.0, 2.0, -1.0])
    assert to_pcm16(loud).tolist() == [0, round(MAX_PEAK * 32768), round(-MAX_PEAK / 2 * 32768)]
