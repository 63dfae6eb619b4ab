"""Festival (Debian ``festival`` and its ``festvox-*`` voices) as a synthesis engine, over a pipe.

One ``festival --pipe`` process per engine (per worker process) reads Scheme commands from stdin. For each text
it synthesizes the utterance and prints one line per item of the Segment relation: the phone's name, its end time
(the voice's own timing: the diphone voices' target durations, the HTS voice's generated durations) and the
1-based index of its token (``R:SylStructure.parent.parent.R:Token.parent``; 0 for a pause, which has no token),
then the tokens, then the wave as raw samples on the same pipe (nothing is written to disk); ``CD-END`` closes the
block. A Scheme error inside ``unwind-protect`` prints ``CD-FAIL`` instead, and the utterance is skipped; a
festival process that dies is restarted for the next text.

Voices: ``kal_diphone`` (festvox-kallpc16k), ``ked_diphone`` (festvox-kdlpc16k), both residual-LPC diphone
voices at 16 kHz, and ``cmu_us_slt_arctic_hts`` (festvox-us-slt-hts, an HMM-based voice at 32 kHz, resampled
by the corpus's effect chain). All use festival's ``radio`` phone set (the CMU set).

Prosody: the diphone voices take ``Duration_Stretch`` (175 / rate) and their linear-regression intonation's target
F0 mean scaled by ``Prosody.pitch_factor``; the HTS voice takes hts_engine's speed factor ``-r`` (rate / 175) and
has no working pitch control here (``-fm`` changed nothing when tried). Deterministic.
"""

from __future__ import annotations

import contextlib
import functools
import multiprocessing.util
import shutil
import subprocess
import tempfile

import numpy as np

from crossdistill.data.engines.base import EngineSynthesis, EngineUnavailable, Prosody, SynthesisError

NAME = "festival"
PHONE_SET = "cmu"
VOICES = ("kal_diphone", "ked_diphone", "cmu_us_slt_arctic_hts")
VOICE_PACKAGES = {"kal_diphone": "festvox-kallpc16k", "ked_diphone": "festvox-kdlpc16k",
                  "cmu_us_slt_arctic_hts": "festvox-us-slt-hts"}  # fmt: skip
PACKAGES = ("festival", *VOICE_PACKAGES.values())
HTS_VOICES = frozenset({"cmu_us_slt_arctic_hts"})
SILENCES = frozenset({"pau", "h#", "brth"})
PROGRAM = "festival"

# Defined once per process: synthesize TEXT and print its segments and tokens, then its wave (raw 16-bit samples in
# the machine's byte order, announced with their count and rate), between markers.
_PRELUDE = r"""
(define (cd_token_index seg)
  (item.feat seg "R:SylStructure.parent.parent.R:Token.parent.cd_index"))
(define (cd_say text)
  (let ((utt (utt.synth (eval (list 'Utterance 'Text text)))) (i 1))
    (mapcar (lambda (tok) (item.set_feat tok "cd_index" i) (set! i (+ i 1))) (utt.relation.items utt 'Token))
    (mapcar (lambda (s) (format t "CD-SEG %s %f %s\n" (item.name s) (item.feat s "end") (cd_token_index s)))
            (utt.relation.items utt 'Segment))
    (mapcar (lambda (tok) (format t "CD-TOKEN %s\n" (item.name tok))) (utt.relation.items utt 'Token))
    (let ((info (wave.info (utt.wave utt))))
      (format t "CD-WAVE %d %d %d\n" (cadr (assoc 'num_samples info)) (cadr (assoc 'sample_rate info))
              (cadr (assoc 'num_channels info))))
    (fflush nil)
    (utt.save.wave utt "-" 'raw)
    (fflush nil)))
(format t "CD-READY\n")
(fflush nil)
"""


def program() -> str | None:
    """The festival executable, or None when it is not installed."""
    return shutil.which(PROGRAM)


@functools.cache
def installed_voices() -> tuple[str, ...]:
    """The voices festival lists here (``voice.list``); empty when festival is not installed."""
    executable = program()
    if executable is None:
        return ()
    result = subprocess.run([executable, "--pipe"], input='(format t "CD-VOICES %l\\n" (voice.list))\n',
                            capture_output=True, text=True, timeout=60, check=False)  # fmt: skip
    for line in result.stdout.splitlines():
        if line.startswith("CD-VOICES "):
            return tuple(line[len("CD-VOICES ") :].strip("() \n").split())
    return ()


def missing_voices(voices: tuple[str, ...]) -> dict[str, str]:
    """The voices of ``voices`` that festival cannot use here, each with why (festival missing: all of them)."""
    if program() is None:
        why = f"festival is not installed (Debian package {PROGRAM}: no {PROGRAM} on PATH)"
        return dict.fromkeys(voices, why)
    listed = installed_voices()
    missing = {}
    for voice in voices:
        if voice not in VOICES:
            missing[voice] = f"festival voice {voice!r} is not one we use (known: {', '.join(VOICES)})"
        elif voice not in listed:
            missing[voice] = f"festival voice {voice!r} is not installed (Debian package {VOICE_PACKAGES[voice]})"
    return missing


def _scheme_string(text: str) -> str:
    return '"' + text.replace("\\", "\\\\").replace('"', '\\"') + '"'


class FestivalEngine:
    """A festival process fed over a pipe, restarted if it dies."""

    name = NAME

    def __init__(self) -> None:
        if program() is None:
            raise EngineUnavailable(f"festival is not installed (Debian package {PROGRAM})")
        self._process: subprocess.Popen | None = None
        self._stderr = None
        self._voice: str | None = None
        # Run at exit in the main process and in pool workers alike (atexit handlers do not run in the latter).
        multiprocessing.util.Finalize(self, self.close, exitpriority=10)

    def close(self) -> None:
        """Stop the festival process."""
        if self._process is not None:
            with contextlib.suppress(OSError):
                self._process.stdin.close()
            try:
                self._process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self._process.kill()
                self._process.wait()
        self._process, self._voice = None, None

    def _start(self) -> None:
        if self._process is not None and self._process.poll() is None:
            return
        self._voice = None
        self._stderr = tempfile.TemporaryFile()  # noqa: SIM115 (anonymous: nothing is left behind, kept for messages)
        self._process = subprocess.Popen([program(), "--pipe"], stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                                         stderr=self._stderr)  # fmt: skip
        self._exchange(_PRELUDE, end=b"CD-READY")

    def _exchange(self, commands: str, end: bytes = b"CD-END") -> tuple[list[str], np.ndarray | None, int]:
        """Send ``commands``; return the lines printed until ``end``, and the wave and its rate if one came."""
        process = self._process
        try:
            process.stdin.write(commands.encode("utf-8"))
            process.stdin.flush()
        except OSError as error:
            self._process = None
            raise SynthesisError(f"festival stopped: {error}; {self._stderr_tail()}") from None
        lines, audio, rate = [], None, 0
        while True:
            line = process.stdout.readline()
            if not line:
                code = process.wait()
                self._process = None
                raise SynthesisError(f"festival exited with status {code}; {self._stderr_tail()}")
            line = line.rstrip(b"\n")
            if line == end:
                return lines, audio, rate
            if line.startswith(b"CD-WAVE "):
                n, rate, channels = (int(field) for field in line.split()[1:])
                data = process.stdout.read(2 * n * channels)
                if channels != 1:
                    raise SynthesisError(f"festival voice {self._voice!r} returned {channels} channels")
                audio = np.frombuffer(data, dtype=np.int16).copy()
            else:
                lines.append(line.decode("utf-8", errors="replace"))

    def _stderr_tail(self) -> str:
        if self._stderr is None:
            return "no message"
        self._stderr.seek(0)
        text = self._stderr.read().decode("utf-8", errors="replace").strip()
        return f"its last message: {text.splitlines()[-1]!r}" if text else "no message"

    def _select(self, voice: str) -> None:
        if voice == self._voice:
            return
        if voice not in VOICES:
            raise EngineUnavailable(f"festival voice {voice!r} is not one we use (known: {', '.join(VOICES)})")
        # Keep the voice's own intonation and engine settings, to scale them per utterance.
        keep = "(set! cd_hts_params hts_engine_params)" if voice in HTS_VOICES else "(set! cd_lr int_lr_params)"
        lines, _, _ = self._exchange(
            f'(unwind-protect (begin (voice_{voice}) {keep} (format t "CD-OK\\n")) (format t "CD-FAIL\\n"))\n'
            '(format t "CD-END\\n")\n(fflush nil)\n'
        )
        if lines != ["CD-OK"]:
            raise EngineUnavailable(f"festival cannot select voice {voice!r}: {self._stderr_tail()}")
        self._voice = voice

    def _prosody_commands(self, voice: str, prosody: Prosody) -> str:
        if voice in HTS_VOICES:
            speed = 1.0 / prosody.duration_stretch
            engine_params = f'(append cd_hts_params (list (list "-r" {speed:.6f})))'
            return f"(Parameter.set 'Duration_Stretch 1.0) (set! hts_engine_params {engine_params})"
        mean = "(cadr (assoc 'target_f0_mean cd_lr))"
        return (
            f"(Parameter.set 'Duration_Stretch {prosody.duration_stretch:.6f})"
            f" (set! int_lr_params (cons (list 'target_f0_mean (* {prosody.pitch_factor:.6f} {mean})) cd_lr))"
        )

    def synthesize(self, text: str, voice: str, prosody: Prosody) -> EngineSynthesis:
        """Say ``text`` with festival voice ``voice`` at ``prosody``."""
        from crossdistill.data.engines.base import segments_from_tokens

        self._start()
        self._select(voice)
        lines, audio, rate = self._exchange(
            f"(unwind-protect (begin {self._prosody_commands(voice, prosody)} (cd_say {_scheme_string(text)}))"
            ' (format t "CD-FAIL\\n"))\n(format t "CD-END\\n")\n(fflush nil)\n'
        )
        if "CD-FAIL" in lines or audio is None:
            raise SynthesisError(f"festival voice {voice!r} failed: {self._stderr_tail()}")
        if audio.size == 0:
            raise SynthesisError(f"festival voice {voice!r} returned empty audio")
        phones, tokens = [], []
        for line in lines:
            fields = line.split(" ")
            if fields[0] == "CD-SEG" and len(fields) == 4:
                phones.append((fields[1], float(fields[2]), int(fields[3]) - 1 if fields[3] != "0" else None))
            elif fields[0] == "CD-TOKEN":
                tokens.append(line[len("CD-TOKEN ") :])
        words, segments = segments_from_tokens(text, phones, tokens, rate, audio.shape[0], SILENCES)
        return EngineSynthesis(audio, rate, words, segments, PHONE_SET)
