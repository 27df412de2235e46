// The demo page's only script (no inline script: the page's CSP forbids it). It never polls: the session and the
// online count arrive over /v1/events; the REST API is called only when the user acts (and once on resync).
const $ = (id) => document.getElementById(id);
let socket = null;
let retry = 0;

async function api(method, path, body) {
  const res = await fetch(path, {
    method,
    credentials: "same-origin",
    headers: body ? { "content-type": "application/json" } : {},
    body: body ? JSON.stringify(body) : undefined,
  });
  const data = res.status === 204 ? null : await res.json().catch(() => null);
  return { status: res.status, data };
}

function show(id, visible) {
  $(id).hidden = !visible;
}

function notice(text) {
  $("notice").textContent = text;
  show("notice", Boolean(text));
}

function setLink(state) {
  const link = $("link");
  link.dataset.state = state;
  link.textContent = state;
  link.className = `link ${state === "live" ? "on" : "off"}`;
}

function signedOut(reason) {
  if (socket) {
    socket.onclose = null;
    socket.close();
    socket = null;
  }
  setLink("offline");
  show("signed-in", false);
  show("login", true);
  notice(reason ? `signed out: ${reason}` : "");
}

async function loadSession() {
  const { status, data } = await api("GET", "/v1/session");
  if (status !== 200) return signedOut();
  show("login", false);
  show("signed-in", true);
  $("username").textContent = data.user.username;
  $("roles").textContent = data.user.roles.join(", ") || "(none)";
  $("session-id").textContent = data.session.id;
  $("expires").textContent = new Date(data.session.expiresAt).toLocaleString();
  show("presence", data.user.roles.includes("admin"));
  await loadSessions();
  connect();
}

async function loadSessions() {
  const { status, data } = await api("GET", "/v1/sessions");
  if (status !== 200) return;
  const body = $("sessions").querySelector("tbody");
  body.replaceChildren(
    ...data.sessions.map((s) => {
      const row = document.createElement("tr");
      row.dataset.session = s.id;
      const cells = [s.id.slice(0, 8), new Date(s.createdAt).toLocaleTimeString(), new Date(s.lastSeenAt).toLocaleTimeString(), s.userAgent.slice(0, 40)];
      for (const text of cells) row.append(Object.assign(document.createElement("td"), { textContent: text }));
      const action = document.createElement("td");
      if (s.current) {
        action.append(Object.assign(document.createElement("span"), { className: "current", textContent: "this device" }));
      } else {
        const button = Object.assign(document.createElement("button"), { type: "button", textContent: "Revoke" });
        button.addEventListener("click", async () => {
          await api("DELETE", `/v1/sessions/${encodeURIComponent(s.id)}`);
          await loadSessions();
        });
        action.append(button);
      }
      row.append(action);
      return row;
    }),
  );
}

function connect() {
  if (socket) return;
  const url = `${location.protocol === "https:" ? "wss" : "ws"}://${location.host}/v1/events`;
  socket = new WebSocket(url);
  setLink("connecting");
  socket.onmessage = (event) => {
    const message = JSON.parse(event.data);
    switch (message.type) {
      case "hello":
        retry = 0;
        setLink("live");
        break;
      case "session.ended":
        signedOut(message.reason);
        break;
      case "session.updated":
        $("roles").textContent = message.roles.join(", ") || "(none)";
        show("presence", message.roles.includes("admin"));
        break;
      case "resync":
        void loadSession();
        break;
      case "presence":
        $("online").textContent = String(message.online);
        break;
    }
  };
  socket.onclose = () => {
    socket = null;
    setLink("offline");
    // A replica restarting (1012) or a network blip: come back, slower each time, at most every 30 s.
    const wait = Math.min(30_000, 500 * 2 ** retry++);
    setTimeout(() => void loadSession(), wait);
  };
}

$("login").addEventListener("submit", async (event) => {
  event.preventDefault();
  const form = new FormData(event.target);
  const { status, data } = await api("POST", "/v1/sessions", { username: form.get("username"), password: form.get("password") });
  if (status !== 201) {
    $("login-error").textContent = data?.message ?? `sign-in failed (${status})`;
    show("login-error", true);
    return;
  }
  show("login-error", false);
  notice("");
  event.target.reset();
  await loadSession();
});

$("logout").addEventListener("click", async () => {
  await api("DELETE", "/v1/session");
  signedOut("logout");
});

$("logout-all").addEventListener("click", async () => {
  await api("DELETE", "/v1/sessions");
  signedOut("logout_all");
});

void loadSession();
