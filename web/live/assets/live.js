// Plenary live page: one WebSocket to the signaling gateway (protocol in
// docs/protocol.md), two RTCPeerConnections to the SFU (publisher: we offer;
// subscriber: the server offers), trickle ICE both ways, resume after a
// dropped connection. No build step, no dependencies.
(() => {
  'use strict';

  const wsPath = document.querySelector('meta[name="plenary-ws-path"]').content;
  const parts = location.pathname.split('/'); // ["", "t", tenant, "live", room]
  const tenant = decodeURIComponent(parts[2] || '');
  const room = decodeURIComponent(parts[4] || '');
  const token = new URLSearchParams(location.search).get('token') || '';
  // Keep the token out of the address bar, history and screenshots.
  history.replaceState(null, '', location.pathname);

  const $ = (id) => document.getElementById(id);
  const MOD_ROLES = ['moderator', 'organizer'];

  const state = {
    tenant, room, self: null, role: '', canPublish: false, locked: false,
    participants: new Map(), session: null, received: 0, publishing: false,
    joined: false, closeCode: 0, errors: [], removed: false, muted: false,
    moves: 0, node: '', // media.moved count and the SFU node named last
  };

  let ws = null;
  let nextId = 1;
  const pending = new Map();
  let sub = null;
  let pub = null;
  let localStream = null;
  let subChain = Promise.resolve();
  let pubChain = Promise.resolve();
  let retry = 0;
  const outQueue = { publisher: [], subscriber: [] }; // local candidates held until the server has our description
  const inQueue = { publisher: [], subscriber: [] }; // remote candidates held until we have theirs
  const ready = { publisher: false, subscriber: false };
  const tiles = new Map(); // participant ID → {figure, video, stream}

  function status(text) { $('status').textContent = text; }

  function report(err) {
    const msg = err && (err.message || err.code) ? `${err.code || ''} ${err.message || ''}`.trim() : String(err);
    state.errors.push(msg);
    console.warn('plenary:', msg);
    status(msg);
  }

  // --- WebSocket and envelopes -------------------------------------------

  function wsURL() {
    const scheme = location.protocol === 'https:' ? 'wss:' : 'ws:';
    return `${scheme}//${location.host}${wsPath}?access_token=${encodeURIComponent(token)}`;
  }

  function connect(resume) {
    ws = new WebSocket(wsURL());
    ws.onopen = () => {
      retry = 0;
      (resume ? doResume() : doJoin()).catch(report);
    };
    ws.onmessage = (m) => {
      state.received++; // every frame counts: this is how resume finds its place
      let env;
      try { env = JSON.parse(m.data); } catch (e) { report(e); return; }
      handle(env);
    };
    ws.onclose = (ev) => onClose(ev);
  }

  function envelope(type, data, id) {
    const env = { v: 1, type };
    if (id) env.id = id;
    if (type !== 'ping' && type !== 'resume') env.room = room;
    if (data) env.data = data;
    return JSON.stringify(env);
  }

  // request sends a request and resolves with the ack's data.
  function request(type, data) {
    const id = 'c' + nextId++;
    return new Promise((resolve, reject) => {
      if (!ws || ws.readyState !== WebSocket.OPEN) { reject({ code: 0, message: 'not connected' }); return; }
      pending.set(id, { resolve, reject });
      ws.send(envelope(type, data, id));
    });
  }

  function notify(type, data) {
    if (ws && ws.readyState === WebSocket.OPEN) ws.send(envelope(type, data));
  }

  function handle(env) {
    if (env.re && pending.has(env.re)) {
      const p = pending.get(env.re);
      pending.delete(env.re);
      if (env.type === 'error') p.reject(env.error); else p.resolve(env.data || {});
      return;
    }
    const d = env.data || {};
    switch (env.type) {
      case 'error': report(env.error); break;
      case 'presence.batch': for (const ev of d.events) handle(ev); break;
      case 'presence.join':
      case 'presence.update': upsert(d.participant); break;
      case 'presence.leave': state.participants.delete(d.participant.id); dropTile(d.participant.id); render(); break;
      case 'room.state': state.locked = d.locked; render(); break;
      case 'media.offer': { const pc = sub; subChain = subChain.then(() => onSubscriberOffer(pc, d.sdp)).catch(report); break; }
      case 'media.ice': addRemoteCandidate(d.target, d.candidate); break;
      case 'media.track': if (d.state === 'unpublished') pruneTile(d.track.participant); break;
      case 'media.reset': resetMedia(d.can_publish); break; // replaced session (demotion)
      case 'media.moved': state.moves++; state.node = d.node; resetMedia(d.can_publish); break; // on another SFU node
      case 'mod.promoted': state.role = d.role; state.canPublish = true; render(); startPublishing().catch(report); break;
      case 'mod.demoted': state.role = d.role; state.canPublish = false; stopPublishing(); render(); break;
      case 'mod.muted': setMuted(true); break;
      case 'mod.removed': state.removed = true; status(d.banned ? 'banned from this room' : 'removed from this room'); closeMedia(); ws.close(1000, 'removed'); break;
      default: break; // media.layers, media.state and other areas are not used by this page
    }
  }

  async function doJoin() {
    status('joining…');
    const r = await request('join', { tenant });
    state.self = r.self;
    state.role = r.self.role;
    state.canPublish = r.can_publish;
    state.locked = r.locked;
    state.session = r.session;
    state.participants = new Map(r.participants.map((p) => [p.id, p]));
    state.joined = true;
    $('title').textContent = `${tenant} / ${room}`;
    status('live');
    render();
    if (state.canPublish) await startPublishing();
  }

  async function doResume() {
    status('resuming…');
    ws.send(envelope('resume', { token: state.session.resume_token, received: state.received }, 'c' + nextId++));
    // The ack (or the replayed frames before it) arrive as usual; a refused
    // resume closes the socket with 4203 and onClose starts afresh.
  }

  function onClose(ev) {
    state.closeCode = ev.code;
    const fresh = !state.session || [4203, 4502, 4100, 4205].includes(ev.code);
    if (fresh || state.removed || ev.code === 1000) {
      // Replies to these requests will never come; after a resume they do.
      for (const p of pending.values()) p.reject({ code: ev.code, message: 'connection closed' });
      pending.clear();
    }
    if (state.removed || ev.code === 1000) { status('disconnected'); return; }
    if (ev.code === 4205) { status('opened in another tab'); return; }
    if (fresh) {
      state.session = null;
      state.received = 0;
      state.joined = false;
      closeMedia();
      newSubscriber();
    }
    status(fresh ? 'reconnecting…' : 'connection lost, resuming…');
    const delay = Math.min(250 * 2 ** retry++, 5000);
    setTimeout(() => connect(!fresh), delay);
  }

  // --- media --------------------------------------------------------------

  function outCandidate(target, cand) {
    if (!ready[target]) { outQueue[target].push(cand); return; }
    notify('media.ice', { target, candidate: cand });
  }

  function markReady(target) {
    ready[target] = true;
    for (const c of outQueue[target].splice(0)) notify('media.ice', { target, candidate: c });
  }

  function addRemoteCandidate(target, cand) {
    const pc = target === 'publisher' ? pub : sub;
    if (!pc || !pc.remoteDescription) { inQueue[target].push(cand); return; }
    pc.addIceCandidate(cand).catch(report);
  }

  function flushRemote(target, pc) {
    for (const c of inQueue[target].splice(0)) pc.addIceCandidate(c).catch(report);
  }

  function newSubscriber() {
    sub = new RTCPeerConnection();
    ready.subscriber = false;
    outQueue.subscriber = [];
    inQueue.subscriber = [];
    sub.onicecandidate = (e) => { if (e.candidate) outCandidate('subscriber', e.candidate.toJSON()); };
    sub.ontrack = (e) => {
      const pid = (e.streams[0] && e.streams[0].id) || e.track.id;
      attach(pid, e.track);
    };
    sub.oniceconnectionstatechange = () => {
      if (sub && sub.iceConnectionState === 'failed') {
        request('media.restart', { target: 'subscriber' }).catch(report); // the server sends a fresh offer
      }
    };
  }

  // pc is the subscriber connection the offer arrived for: an offer still
  // queued when media.moved replaced the connections belongs to the old
  // node and must not touch the new connection.
  async function onSubscriberOffer(pc, sdp) {
    if (pc !== sub) return;
    await pc.setRemoteDescription({ type: 'offer', sdp });
    if (pc !== sub) return;
    flushRemote('subscriber', pc);
    const answer = await pc.createAnswer();
    await pc.setLocalDescription(answer);
    if (pc !== sub) return;
    await request('media.answer', { type: 'answer', sdp: answer.sdp });
    markReady('subscriber');
  }

  function startPublishing() {
    pubChain = pubChain.then(publish);
    return pubChain;
  }

  async function publish() {
    if (state.publishing || !state.canPublish) return;
    state.publishing = true;
    localStream = await navigator.mediaDevices.getUserMedia({ video: { width: 640, height: 360 }, audio: true });
    showLocal(localStream);
    pub = new RTCPeerConnection();
    ready.publisher = false;
    outQueue.publisher = [];
    inQueue.publisher = [];
    pub.onicecandidate = (e) => { if (e.candidate) outCandidate('publisher', e.candidate.toJSON()); };
    pub.oniceconnectionstatechange = () => {
      if (pub && pub.iceConnectionState === 'failed') offerPublisher(true).catch(report); // ICE restart
    };
    for (const t of localStream.getTracks()) pub.addTransceiver(t, { direction: 'sendonly', streams: [localStream] });
    await offerPublisher(false);
    $('mute').hidden = false;
    render();
  }

  async function offerPublisher(iceRestart) {
    const pc = pub;
    const offer = await pc.createOffer({ iceRestart });
    await pc.setLocalDescription(offer);
    const answer = await request('media.offer', { type: 'offer', sdp: offer.sdp });
    await pc.setRemoteDescription({ type: 'answer', sdp: answer.sdp });
    flushRemote('publisher', pc);
    markReady('publisher');
  }

  function stopPublishing() {
    if (localStream) for (const t of localStream.getTracks()) t.stop();
    localStream = null;
    if (pub) pub.close();
    pub = null;
    state.publishing = false;
    dropTile('local');
    $('mute').hidden = true;
  }

  function closeMedia() {
    stopPublishing();
    if (sub) sub.close();
    sub = null;
    for (const id of [...tiles.keys()]) dropTile(id);
  }

  // resetMedia starts new peer connections after the server replaced our
  // media session (e.g. a demotion); its offer follows.
  function resetMedia(canPublish) {
    const wasPublishing = state.publishing;
    state.canPublish = canPublish;
    closeMedia();
    newSubscriber();
    subChain = Promise.resolve();
    if (canPublish && wasPublishing) startPublishing().catch(report);
  }

  function setMuted(muted) {
    state.muted = muted;
    if (localStream) for (const t of localStream.getAudioTracks()) t.enabled = !muted;
    $('mute').textContent = muted ? 'Unmute' : 'Mute';
    request('media.mute', { muted }).catch(report);
  }

  // --- video tiles --------------------------------------------------------

  function tile(id, label) {
    let t = tiles.get(id);
    if (t) return t;
    const figure = document.createElement('figure');
    const video = document.createElement('video');
    video.autoplay = true;
    video.playsInline = true;
    video.muted = true; // autoplay policy; "Enable sound" unmutes remote tiles
    video.dataset.participant = id;
    const cap = document.createElement('figcaption');
    cap.textContent = label;
    figure.append(video, cap);
    $('videos').append(figure);
    t = { figure, video, stream: new MediaStream(), cap };
    video.srcObject = t.stream;
    tiles.set(id, t);
    return t;
  }

  function attach(pid, track) {
    const p = state.participants.get(pid);
    const t = tile(pid, p ? p.name || p.user : pid);
    t.stream.addTrack(track);
    track.onended = () => { t.stream.removeTrack(track); pruneTile(pid); };
    t.video.play().catch(() => {});
  }

  function showLocal(stream) {
    const t = tile('local', 'You');
    t.video.dataset.local = 'true';
    t.video.srcObject = stream;
  }

  function pruneTile(id) {
    const t = tiles.get(id);
    if (t && t.stream.getTracks().every((tr) => tr.readyState === 'ended')) dropTile(id);
  }

  function dropTile(id) {
    const t = tiles.get(id);
    if (!t) return;
    t.figure.remove();
    tiles.delete(id);
  }

  // --- participants and moderation ----------------------------------------

  function upsert(p) {
    state.participants.set(p.id, p);
    if (state.self && p.id === state.self.id) { state.self = p; state.role = p.role; }
    render();
  }

  function isModerator() { return MOD_ROLES.includes(state.role); }

  function button(text, fn) {
    const b = document.createElement('button');
    b.type = 'button';
    b.textContent = text;
    b.onclick = () => fn().catch(report);
    return b;
  }

  function render() {
    $('role').textContent = state.role ? `${state.role}${state.canPublish ? ' · on stage' : ''}` : '';
    $('hand').disabled = !state.joined;
    const me = state.self && state.participants.get(state.self.id);
    $('hand').textContent = me && me.hand ? 'Lower hand' : 'Raise hand';
    $('lock').hidden = !isModerator();
    $('lock').textContent = state.locked ? 'Unlock room' : 'Lock room';
    const ul = $('people');
    ul.replaceChildren();
    const people = [...state.participants.values()].sort((a, b) => (a.hand || Infinity) - (b.hand || Infinity) || a.joined - b.joined);
    for (const p of people) {
      const li = document.createElement('li');
      li.dataset.participant = p.id;
      li.textContent = `${p.name || p.user} (${p.role})`;
      if (p.hand) li.classList.add('hand');
      if (p.muted) li.classList.add('muted');
      const t = tiles.get(p.id);
      if (t) { t.figure.classList.toggle('speaking', p.speaking); t.cap.textContent = p.name || p.user; }
      if (isModerator() && state.self && p.id !== state.self.id) {
        const target = { participant: p.id };
        if (p.role === 'attendee') li.append(button('Promote', () => request('mod.promote', target)));
        if (p.role === 'speaker' || p.role === 'moderator') li.append(button('Demote', () => request('mod.demote', target)));
        if (p.hand) li.append(button('Lower hand', () => request('hand.lower', target)));
        li.append(button('Mute', () => request('mod.mute', target)));
        li.append(button('Remove', () => request('mod.remove', target)));
        li.append(button('Ban', () => request('mod.ban', target)));
      }
      ul.append(li);
    }
  }

  $('hand').onclick = () => {
    const me = state.self && state.participants.get(state.self.id);
    request(me && me.hand ? 'hand.lower' : 'hand.raise', {}).catch(report);
  };
  $('mute').onclick = () => setMuted(!state.muted);
  $('lock').onclick = () => request('mod.lock', { locked: !state.locked }).catch(report);
  $('sound').onclick = () => {
    for (const [id, t] of tiles) if (id !== 'local') t.video.muted = false;
    $('sound').hidden = true;
  };

  // Test and debugging hook: read-only views of the page's state.
  window.plenary = {
    state,
    videoStats() {
      return [...document.querySelectorAll('video[data-participant]')].map((v) => {
        const q = v.getVideoPlaybackQuality ? v.getVideoPlaybackQuality() : { totalVideoFrames: 0 };
        return { participant: v.dataset.participant, local: v.dataset.local === 'true', width: v.videoWidth, height: v.videoHeight, frames: q.totalVideoFrames };
      });
    },
  };

  if (!token || !room) { status('missing token or room in the link'); return; }
  newSubscriber();
  connect(false);
})();
