// The audio ends of a call: opening the microphone (the saved device, else the default), the
// analyser that reads its level for the speaking indicator, and playing each peer through its
// own <audio> element on the chosen output device.

import type { Id } from '../api/protocol';

/** Opens the saved input device with the browser's voice processing, or the default one. */
export async function openMicrophone(inputId: string | null): Promise<MediaStream> {
  const processing = { echoCancellation: true, noiseSuppression: true, autoGainControl: true };
  if (inputId) {
    try {
      return await navigator.mediaDevices.getUserMedia({ audio: { ...processing, deviceId: { exact: inputId } } });
    } catch {
      // The saved device is gone: fall back to the default one.
    }
  }
  return navigator.mediaDevices.getUserMedia({ audio: processing });
}

/** The open microphone and the analyser reading its level. */
export class Microphone {
  stream: MediaStream | null = null;
  private audioContext: AudioContext | null = null;
  private analyser: AnalyserNode | null = null;
  private source: MediaStreamAudioSourceNode | null = null;

  /** Call during the user's click: an AudioContext made later, outside the gesture, starts
   * suspended under the autoplay policy and would read silence for the speaking indicator. */
  wake(): void {
    this.audioContext ??= new AudioContext();
    void this.audioContext.resume().catch(() => {});
  }

  /** The current level (RMS, 0–1), or null without a microphone or when no analyser can be made. */
  level(): number | null {
    if (!this.stream) return null;
    if (!this.analyser) {
      try {
        this.audioContext ??= new AudioContext();
        this.source = this.audioContext.createMediaStreamSource(this.stream);
        this.analyser = this.audioContext.createAnalyser();
        this.analyser.fftSize = 512;
        this.source.connect(this.analyser);
      } catch {
        return null;
      }
    }
    const samples = new Float32Array(this.analyser.fftSize);
    this.analyser.getFloatTimeDomainData(samples);
    return Math.sqrt(samples.reduce((sum, v) => sum + v * v, 0) / samples.length);
  }

  /** Opens or closes the gate on what peers receive, without renegotiating. */
  setSending(on: boolean): void {
    for (const track of this.stream?.getAudioTracks() ?? []) track.enabled = on;
  }

  /** Stops the device and drops the analyser, which belongs to this stream. */
  close(): void {
    for (const track of this.stream?.getTracks() ?? []) track.stop();
    this.stream = null;
    this.source?.disconnect();
    this.source = null;
    this.analyser = null;
  }
}

/** Plays a peer's audio through its own <audio> element (tagged data-peer), reusing the element
 * when the peer's track arrives again after a renegotiation. */
export function playRemote(audio: HTMLAudioElement | null, userId: Id, stream: MediaStream, muted: boolean, outputId: string | null): HTMLAudioElement {
  const element = audio ?? document.createElement('audio');
  element.autoplay = true;
  element.muted = muted;
  element.dataset.peer = userId;
  element.srcObject = stream;
  if (!audio) document.body.appendChild(element);
  void routeToOutput(element, outputId);
  void element.play().catch(() => {});
  return element;
}

/** Sends an element to the chosen output device, where the browser lets pages choose one. */
export async function routeToOutput(audio: HTMLAudioElement | null, outputId: string | null): Promise<void> {
  const sink = audio as (HTMLAudioElement & { setSinkId?(id: string): Promise<void> }) | null;
  if (sink?.setSinkId && outputId) await sink.setSinkId(outputId).catch(() => {});
}
