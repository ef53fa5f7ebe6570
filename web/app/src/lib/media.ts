// Media runs the two peer connections of docs/protocol.md: the publisher
// (the browser offers; camera, microphone, screen) and the subscriber (the
// server offers every track of the room). Trickle ICE is queued until the
// description it belongs to is known on both sides. Rendered sizes are
// reported with media.prefs so that the SFU forwards the simulcast layer
// that fits the tile.

import type { Conn } from './conn';
import type { TrackInfo } from './types';

/** RemoteVideo is one received video track, shown as one tile. */
export interface RemoteVideo {
  track: MediaStreamTrack;
  stream: MediaStream;
  participant: string;
}

/** DeviceLists are the selectable inputs. */
export interface DeviceLists {
  audio: MediaDeviceInfo[];
  video: MediaDeviceInfo[];
}

type Target = 'publisher' | 'subscriber';

export class Media {
  private sub: RTCPeerConnection | null = null;
  private pub: RTCPeerConnection | null = null;
  private subChain: Promise<void> = Promise.resolve();
  private pubChain: Promise<void> = Promise.resolve();
  private outQ: Record<Target, RTCIceCandidateInit[]> = { publisher: [], subscriber: [] };
  private inQ: Record<Target, RTCIceCandidateInit[]> = { publisher: [], subscriber: [] };
  private ready: Record<Target, boolean> = { publisher: false, subscriber: false };
  private sent = new Map<string, string>();
  private prefTimers = new Map<string, number>();
  private screenSender: RTCRtpSender | null = null;

  /** videos are the received video tracks by track ID. */
  videos = new Map<string, RemoteVideo>();
  /** audio holds each participant's received audio. */
  audio = new Map<string, MediaStream>();
  /** tracks is what media.track announced, by track ID. */
  tracks = new Map<string, TrackInfo>();
  local: MediaStream | null = null;
  screen: MediaStream | null = null;
  publishing = false;
  micOn = true;
  camOn = true;
  micId = '';
  camId = '';
  devices: DeviceLists = { audio: [], video: [] };

  constructor(
    private conn: Conn,
    private changed: () => void,
    private error: (msg: string) => void,
  ) {
    this.newSubscriber();
    navigator.mediaDevices?.addEventListener?.('devicechange', () => void this.listDevices());
  }

  // --- subscriber ---------------------------------------------------------

  private newSubscriber(): void {
    const pc = new RTCPeerConnection();
    this.sub = pc;
    this.ready.subscriber = false;
    this.outQ.subscriber = [];
    this.inQ.subscriber = [];
    this.subChain = Promise.resolve();
    pc.onicecandidate = (e) => {
      if (e.candidate) this.outCandidate('subscriber', e.candidate.toJSON());
    };
    pc.ontrack = (e) => {
      const pid = e.streams[0]?.id || e.track.id;
      const track = e.track;
      if (track.kind === 'video') {
        const id = track.id;
        this.videos.set(id, { track, stream: new MediaStream([track]), participant: pid });
        track.addEventListener('ended', () => {
          this.videos.delete(id);
          this.changed();
        });
      } else {
        let s = this.audio.get(pid);
        if (!s) {
          s = new MediaStream();
          this.audio.set(pid, s);
        }
        s.addTrack(track);
        track.addEventListener('ended', () => {
          s!.removeTrack(track);
          this.changed();
        });
      }
      this.changed();
    };
    pc.oniceconnectionstatechange = () => {
      if (pc === this.sub && pc.iceConnectionState === 'failed') {
        this.conn.request('media.restart', { target: 'subscriber' }).catch(() => undefined);
      }
    };
  }

  /** onOffer answers the server's subscriber offer. */
  onOffer(sdp: string): void {
    // The connection the offer arrived for: an offer still queued when
    // media.moved replaced the connections belongs to the old node.
    const pc = this.sub!;
    this.subChain = this.subChain
      .then(async () => {
        if (pc !== this.sub) return;
        await pc.setRemoteDescription({ type: 'offer', sdp });
        if (pc !== this.sub) return;
        this.flushRemote('subscriber', pc);
        const answer = await pc.createAnswer();
        await pc.setLocalDescription(answer);
        if (pc !== this.sub) return;
        await this.conn.request('media.answer', { type: 'answer', sdp: answer.sdp });
        this.markReady('subscriber');
      })
      .catch((e) => this.error(`Receiving media failed: ${msg(e)}`));
  }

  /** onIce adds a remote candidate (queued until the description is set). */
  onIce(target: Target, cand: RTCIceCandidateInit): void {
    const pc = target === 'publisher' ? this.pub : this.sub;
    if (!pc || !pc.remoteDescription) {
      this.inQ[target].push(cand);
      return;
    }
    pc.addIceCandidate(cand).catch(() => undefined);
  }

  /** onTrack records media.track announcements. */
  onTrack(state: string, t: TrackInfo): void {
    if (state === 'published' || state === 'muted' || state === 'unmuted') this.tracks.set(t.id, t);
    else {
      this.tracks.delete(t.id);
      const v = this.videos.get(t.id);
      if (v) this.videos.delete(t.id);
      this.sent.delete(t.id);
    }
    this.changed();
  }

  private outCandidate(target: Target, c: RTCIceCandidateInit): void {
    if (!this.ready[target]) {
      this.outQ[target].push(c);
      return;
    }
    this.conn.notify('media.ice', { target, candidate: c });
  }

  private markReady(target: Target): void {
    this.ready[target] = true;
    for (const c of this.outQ[target].splice(0)) this.conn.notify('media.ice', { target, candidate: c });
  }

  private flushRemote(target: Target, pc: RTCPeerConnection): void {
    for (const c of this.inQ[target].splice(0)) pc.addIceCandidate(c).catch(() => undefined);
  }

  /**
   * rendered reports the size a video track is drawn at, so the SFU picks
   * the layer that fits (media.prefs). Changes are debounced; a hidden tile
   * (0×0) pauses the track.
   */
  rendered(trackId: string, width: number, height: number): void {
    const key = `${width}x${height}`;
    if (this.sent.get(trackId) === key) return;
    window.clearTimeout(this.prefTimers.get(trackId));
    this.prefTimers.set(
      trackId,
      window.setTimeout(() => {
        this.sent.set(trackId, key);
        const data = width === 0 ? { track: trackId, paused: true } : { track: trackId, width, height, paused: false };
        this.conn.request('media.prefs', data).catch(() => this.sent.delete(trackId));
      }, 300),
    );
  }

  // --- publisher ----------------------------------------------------------

  /** listDevices refreshes the microphone and camera lists. */
  async listDevices(): Promise<void> {
    if (!navigator.mediaDevices?.enumerateDevices) return;
    const all = await navigator.mediaDevices.enumerateDevices();
    this.devices = {
      audio: all.filter((d) => d.kind === 'audioinput'),
      video: all.filter((d) => d.kind === 'videoinput'),
    };
    this.changed();
  }

  /** startPublishing sends camera and microphone (once allowed). */
  startPublishing(): Promise<void> {
    this.pubChain = this.pubChain.then(() => this.publish()).catch((e) => {
      this.publishing = false;
      this.error(`Camera or microphone unavailable: ${msg(e)}`);
    });
    return this.pubChain;
  }

  private async publish(): Promise<void> {
    if (this.publishing) return;
    this.publishing = true;
    this.local = await navigator.mediaDevices.getUserMedia({
      audio: this.micId ? { deviceId: { exact: this.micId } } : true,
      video: { width: { ideal: 1280 }, height: { ideal: 720 }, ...(this.camId ? { deviceId: { exact: this.camId } } : {}) },
    });
    for (const t of this.local.getAudioTracks()) t.enabled = this.micOn;
    for (const t of this.local.getVideoTracks()) t.enabled = this.camOn;
    void this.listDevices();
    const pc = new RTCPeerConnection();
    this.pub = pc;
    this.ready.publisher = false;
    this.outQ.publisher = [];
    this.inQ.publisher = [];
    pc.onicecandidate = (e) => {
      if (e.candidate) this.outCandidate('publisher', e.candidate.toJSON());
    };
    pc.oniceconnectionstatechange = () => {
      if (pc === this.pub && pc.iceConnectionState === 'failed') void this.offer(true);
    };
    for (const t of this.local.getTracks()) {
      const init: RTCRtpTransceiverInit = { direction: 'sendonly', streams: [this.local] };
      if (t.kind === 'video') {
        // Three spatial layers, rid q/h/f (ARCHITECTURE.md, media plane).
        init.sendEncodings = [
          { rid: 'q', scaleResolutionDownBy: 4, maxBitrate: 150_000 },
          { rid: 'h', scaleResolutionDownBy: 2, maxBitrate: 500_000 },
          { rid: 'f', maxBitrate: 1_500_000 },
        ];
      }
      pc.addTransceiver(t, init);
    }
    await this.offer(false);
    this.changed();
  }

  private async offer(iceRestart: boolean): Promise<void> {
    const pc = this.pub;
    if (!pc) return;
    const offer = await pc.createOffer({ iceRestart });
    await pc.setLocalDescription(offer);
    const answer = await this.conn.request('media.offer', { type: 'offer', sdp: offer.sdp });
    await pc.setRemoteDescription({ type: 'answer', sdp: answer.sdp });
    this.flushRemote('publisher', pc);
    this.markReady('publisher');
  }

  /** stopPublishing ends camera, microphone and screen. */
  stopPublishing(): void {
    for (const s of [this.local, this.screen]) s?.getTracks().forEach((t) => t.stop());
    this.local = null;
    this.screen = null;
    this.screenSender = null;
    this.pub?.close();
    this.pub = null;
    this.publishing = false;
    this.changed();
  }

  /** setMic turns the microphone on or off and tells the room. */
  setMic(on: boolean): void {
    this.setKind('audio', on, true);
  }

  /**
   * setCam turns the camera on or off (the track keeps its slot). Turning
   * it on tells the server, which lifts a moderator's camera mute.
   */
  setCam(on: boolean): void {
    this.setKind('video', on, on);
  }

  /**
   * setKind turns the local tracks of kind on or off and, if tell, reports
   * it with media.mute. A refused unmute (a moderator's hard mute) turns
   * them off again.
   */
  private setKind(kind: 'audio' | 'video', on: boolean, tell: boolean): void {
    const apply = (v: boolean) => {
      if (kind === 'audio') this.micOn = v;
      else this.camOn = v;
      const ts = kind === 'audio' ? this.local?.getAudioTracks() : this.local?.getVideoTracks();
      ts?.forEach((t) => (t.enabled = v));
      this.changed();
    };
    apply(on);
    if (!tell) return;
    const data = kind === 'audio' ? { muted: !on } : { muted: !on, kind };
    this.conn.request('media.mute', data).catch((e) => {
      if (on) {
        apply(false);
        this.error(`Cannot unmute: ${msg(e)}`);
      }
    });
  }

  /** modMuted applies a moderator's mute locally (mod.muted). */
  modMuted(video: boolean): void {
    this.micOn = false;
    this.local?.getAudioTracks().forEach((t) => (t.enabled = false));
    if (video) {
      this.camOn = false;
      this.local?.getVideoTracks().forEach((t) => (t.enabled = false));
    }
    this.changed();
  }

  /** useDevice switches microphone or camera without renegotiation. */
  async useDevice(kind: 'audio' | 'video', id: string): Promise<void> {
    if (kind === 'audio') this.micId = id;
    else this.camId = id;
    if (!this.local || !this.pub) {
      this.changed();
      return;
    }
    const c = id ? { deviceId: { exact: id } } : true;
    const s = await navigator.mediaDevices.getUserMedia(kind === 'audio' ? { audio: c } : { video: c });
    const fresh = s.getTracks()[0];
    const old = kind === 'audio' ? this.local.getAudioTracks()[0] : this.local.getVideoTracks()[0];
    const sender = this.pub.getSenders().find((x) => x.track === old);
    if (sender) await sender.replaceTrack(fresh);
    if (old) {
      old.stop();
      this.local.removeTrack(old);
    }
    fresh.enabled = kind === 'audio' ? this.micOn : this.camOn;
    this.local.addTrack(fresh);
    this.changed();
  }

  /** shareScreen adds a screen track (a renegotiation offer). */
  async shareScreen(): Promise<void> {
    if (!this.pub || this.screen) return;
    const s = await navigator.mediaDevices.getDisplayMedia({ video: true, audio: false });
    this.screen = s;
    const t = s.getVideoTracks()[0];
    t.addEventListener('ended', () => void this.stopScreen());
    this.screenSender = this.pub.addTransceiver(t, { direction: 'sendonly', streams: [s] }).sender;
    this.pubChain = this.pubChain.then(() => this.offer(false));
    await this.pubChain;
    this.changed();
  }

  /** stopScreen removes the screen track. */
  async stopScreen(): Promise<void> {
    if (!this.screen) return;
    this.screen.getTracks().forEach((t) => t.stop());
    this.screen = null;
    if (this.pub && this.screenSender) {
      this.pub.removeTrack(this.screenSender);
      this.screenSender = null;
      this.pubChain = this.pubChain.then(() => this.offer(false)).catch(() => undefined);
    }
    this.changed();
  }

  /**
   * reset replaces both connections after the server replaced the media
   * session (media.reset, e.g. after a demotion; media.moved, on another
   * SFU node); its offer follows, and what was published is published
   * again if canPublish.
   */
  reset(canPublish: boolean): void {
    const was = this.publishing;
    this.stopPublishing();
    this.closeSubscriber();
    this.newSubscriber();
    if (canPublish && was) void this.startPublishing();
  }

  private closeSubscriber(): void {
    this.sub?.close();
    this.sub = null;
    this.videos.clear();
    this.audio.clear();
    this.sent.clear();
  }

  /** rejoined starts afresh after a new join (the old media session ended). */
  rejoined(): void {
    this.reset(false);
  }

  /** close ends everything. */
  close(): void {
    this.stopPublishing();
    this.closeSubscriber();
    for (const t of this.prefTimers.values()) window.clearTimeout(t);
  }
}

function msg(e: unknown): string {
  if (e && typeof e === 'object' && 'message' in e) return String((e as { message: unknown }).message);
  return String(e);
}
