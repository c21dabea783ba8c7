// The emulated workspace in a browser. Message bodies arrive as HTML rendered (and escaped) by the emulator;
// this script lays them out, keeps them live over server-sent events and sends clicks and commands as a person.
"use strict";

const $ = (id) => document.getElementById(id);
const state = {
  viewer: localStorage.getItem("viewer") || "",
  channel: new URLSearchParams(location.search).get("channel") || localStorage.getItem("channel") || "",
  seen: JSON.parse(localStorage.getItem("seen") || "{}"),
  awaiting: null, // an incident id whose channel we open as soon as it exists
  lastKey: "",
};

function toast(text, isError) {
  const el = document.createElement("div");
  el.className = "toast" + (isError ? " error" : "");
  el.textContent = text;
  $("toasts").appendChild(el);
  setTimeout(() => el.remove(), isError ? 8000 : 4000);
}

async function postJson(url, body) {
  const response = await fetch(url, {
    method: "POST",
    headers: { "Content-Type": "application/json" },
    body: JSON.stringify(body || {}),
  });
  let data = {};
  try { data = await response.json(); } catch (e) { data = { ok: false, error: `HTTP ${response.status}` }; }
  return data;
}

function esc(text) {
  const div = document.createElement("div");
  div.textContent = text == null ? "" : String(text);
  return div.innerHTML;
}

function initials(name) {
  return (name || "?").trim().charAt(0).toUpperCase();
}

function messageHtml(m) {
  const cls = "message" + (m.ephemeral ? " ephemeral" : "");
  const onlyYou = m.ephemeral ? '<div class="only-you">👁 Only visible to you</div>' : "";
  const app = m.is_bot ? '<span class="app-tag">APP</span>' : "";
  const edited = m.edited ? '<span class="edited">(edited)</span>' : "";
  const reactions = Object.entries(m.reactions || {})
    .map(([name, count]) => `<span>:${esc(name)}: ${count}</span>`).join("");
  const replies = (m.replies || []).map(messageHtml).join("");
  const thread = replies
    ? `<div class="thread-count">${m.replies.length} ${m.replies.length === 1 ? "reply" : "replies"}</div><div class="thread">${replies}</div>`
    : "";
  return `<div class="${cls}" data-ts="${esc(m.ts)}" data-ephemeral="${m.ephemeral}">` +
    `<div class="avatar${m.is_bot ? " bot" : ""}">${esc(initials(m.author))}</div>` +
    `<div class="body">${onlyYou}<div class="meta"><span class="author">${esc(m.author)}</span>${app}` +
    `<span class="time">${esc(m.time)}</span></div>` +
    `<div class="content">${m.html}${edited}</div>` +
    (reactions ? `<div class="reactions">${reactions}</div>` : "") + thread + "</div></div>";
}

function seenKey(channelId) {
  return `${state.viewer}/${channelId}`;
}

const HOME = "@home"; // the app's Home tab, shown in place of a channel

function renderChannels(view) {
  const open = view.channel ? view.channel.id : "";
  $("home-link").className = open === HOME ? "active" : "";
  for (const [listId, kinds] of [["channels", ["public", "private"]], ["dms", ["dm"]]]) {
    const list = $(listId);
    list.innerHTML = "";
    for (const c of view.channels.filter((c) => kinds.includes(c.kind))) {
      const li = document.createElement("li");
      const unread = c.id !== open && c.activity > (state.seen[seenKey(c.id)] || 0);
      li.className = [c.id === open ? "active" : "", unread ? "unread" : "",
        c.member ? "" : "not-member", c.archived ? "archived" : ""].join(" ").trim();
      li.dataset.id = c.id;
      li.dataset.name = c.name;
      const prefix = c.kind === "dm" ? "● " : c.kind === "private" ? "🔒 " : "# ";
      li.innerHTML = `<span>${prefix}${esc(c.name)}</span>` + (unread ? '<span class="badge">new</span>' : "");
      li.title = c.member ? "" : "you are not a member of this channel";
      li.addEventListener("click", () => openChannel(c.id));
      list.appendChild(li);
    }
  }
}

function renderMessages(view) {
  const channel = view.channel;
  const box = $("messages");
  if (!channel) {
    $("channel-name").textContent = "";
    box.innerHTML = '<div class="empty">No channels.</div>';
    return;
  }
  if (channel.kind === "home") {
    // What the app published for this person with views.publish; it answers app_home_opened.
    $("channel-name").textContent = "runbook-bot · Home";
    $("channel-topic").textContent = "";
    box.dataset.channel = channel.id;
    box.innerHTML = channel.home
      ? `<div class="home" data-view-id="${esc(channel.home.view_id)}">${channel.home.html}</div>`
      : '<div class="empty">Opening the Home tab…</div>';
    return;
  }
  const prefix = channel.kind === "dm" ? "" : "#";
  $("channel-name").textContent = prefix + channel.name;
  $("channel-topic").innerHTML = channel.topic_html || "";
  const nearBottom = box.scrollHeight - box.scrollTop - box.clientHeight < 80;
  const switched = box.dataset.channel !== channel.id;
  box.dataset.channel = channel.id;
  box.innerHTML = channel.messages.length
    ? channel.messages.map(messageHtml).join("")
    : '<div class="empty">No messages yet.</div>';
  if (nearBottom || switched) box.scrollTop = box.scrollHeight;
  state.seen[seenKey(channel.id)] = channel.activity;
  localStorage.setItem("seen", JSON.stringify(state.seen));
}

function renderPeople(view) {
  const select = $("person");
  if (select.options.length !== view.people.length) {
    select.innerHTML = view.people
      .map((p) => `<option value="${esc(p.id)}">${esc(p.name)}</option>`).join("");
  }
  select.value = view.viewer;
}

let refreshing = null;
let again = false;

async function refresh() {
  if (refreshing) { again = true; return refreshing; }
  refreshing = (async () => {
    do {
      again = false;
      const asked = { viewer: state.viewer, channel: state.channel };
      const query = new URLSearchParams({ as: asked.viewer, channel: asked.channel });
      const response = await fetch(`/_emulator/ui/view?${query}`);
      const view = await response.json();
      // A person or channel picked while this view was in flight wins: the view answers an older
      // question, and adopting its viewer would make the next click act as the person before.
      if (state.viewer !== asked.viewer || state.channel !== asked.channel) { again = true; continue; }
      state.viewer = view.viewer;
      if (state.awaiting) {
        const prefix = "inc-" + state.awaiting.replace(/^INC-/i, "") + "-";
        const found = view.channels.find((c) => c.name.startsWith(prefix));
        if (found && found.id !== (view.channel && view.channel.id)) {
          state.awaiting = null;
          state.channel = found.id;
          again = true;
          continue;
        }
      }
      if (view.channel) state.channel = view.channel.id;
      renderPeople(view);
      renderChannels(view);
      renderMessages(view);
      renderModal(view.modal);
      document.body.dataset.viewer = view.viewer;
      document.body.dataset.channel = state.channel;
    } while (again);
  })();
  try { await refreshing; } catch (e) { toast(`could not reach the emulator: ${e}`, true); }
  finally { refreshing = null; }
}

function openChannel(id) {
  state.channel = id;
  localStorage.setItem("channel", id);
  if (id === HOME) openHome();
  else refresh();
}

async function openHome() {
  // Opening the tab is what makes the app publish it (app_home_opened), for whoever is looking.
  refresh();
  const result = await postJson("/_emulator/open_home", { user: state.viewer });
  if (!result.ok) toast(`Home: ${result.error}`, true);
  else if (!result.delivery) toast("the app does not listen for app_home_opened", true);
}

function askConfirm(spec) {
  const dialog = $("confirm");
  $("confirm-title").textContent = spec.title;
  $("confirm-text").textContent = spec.text;
  $("confirm-ok").textContent = spec.confirm;
  $("confirm-ok").className = "btn " + (spec.style === "danger" ? "btn-danger" : "btn-primary");
  $("confirm-deny").textContent = spec.deny;
  return new Promise((resolve) => {
    dialog.addEventListener("close", () => resolve(dialog.returnValue === "confirm"), { once: true });
    dialog.returnValue = "";
    dialog.showModal();
  });
}

async function click(button) {
  if (button.dataset.confirm && !(await askConfirm(JSON.parse(button.dataset.confirm)))) return;
  const home = button.closest(".home");
  if (home) {
    // A button in a view (the Home tab) carries no channel or message: Slack sends the view instead.
    const result = await postJson("/_emulator/click_view_button", {
      user: state.viewer, view_id: home.dataset.viewId, action_id: button.dataset.actionId, value: button.dataset.value,
    });
    if (!result.ok) toast(`click failed: ${result.error}`, true);
    return;
  }
  const message = button.closest(".message");
  const body = {
    user: state.viewer, channel: state.channel, ts: message.dataset.ts, action_id: button.dataset.actionId,
  };
  if (button.dataset.value !== undefined) body.value = button.dataset.value;
  button.disabled = true;
  try {
    const result = await postJson("/_emulator/click_button", body);
    if (!result.ok) toast(`click failed: ${result.error}`, true);
    else if (!result.acked) toast("the bot did not acknowledge the click", true);
  } finally {
    button.disabled = false;
  }
}

async function choose(select) {
  // A static_select or overflow menu in a message: send the chosen option (after its confirm dialog).
  const message = select.closest(".message");
  const value = select.value;
  select.selectedIndex = 0; // the message is redrawn with the app's answer; the menu itself keeps no state
  if (!value) return;
  if (select.dataset.confirm && !(await askConfirm(JSON.parse(select.dataset.confirm)))) return;
  const result = await postJson("/_emulator/choose_option", {
    user: state.viewer, channel: state.channel, ts: message.dataset.ts, action_id: select.dataset.actionId, value,
  });
  if (!result.ok) toast(`choice failed: ${result.error}`, true);
  else if (!result.acked) toast("the bot did not acknowledge the choice", true);
}

// The person's open modal, if any. It is drawn again only when the app changed it (an update, errors),
// so a refresh never wipes what is being typed.
state.modal = null;

function renderModal(modal) {
  const dialog = $("modal");
  if (!modal) {
    state.modal = null;
    if (dialog.open) dialog.close();
    return;
  }
  const key = `${modal.id}/${modal.version}`;
  if (state.modal !== key) {
    const typed = state.modal && state.modal.startsWith(modal.id + "/") ? modalValues() : null;
    state.modal = key;
    $("modal-title").textContent = modal.title;
    $("modal-body").innerHTML = modal.html;
    $("modal-submit").textContent = modal.submit;
    $("modal-submit").hidden = !modal.submit;
    $("modal-close").textContent = modal.close;
    dialog.dataset.viewId = modal.id;
    if (typed) restoreValues(typed); // errors came back: keep the answers so they can be corrected
  }
  if (!dialog.open) dialog.showModal();
}

function modalValues() {
  // {block_id: {action_id: value}} as Driver.submit_view takes it; empty answers are null, as Slack sends them.
  const values = {};
  for (const block of $("modal-body").querySelectorAll(".block.input")) {
    const type = block.dataset.type;
    let value;
    if (type === "checkboxes") {
      value = [...block.querySelectorAll("input:checked")].map((i) => i.value);
    } else if (type === "radio_buttons") {
      const picked = block.querySelector("input:checked");
      value = picked ? picked.value : null;
    } else if (type.startsWith("multi_")) {
      value = [...block.querySelector("select").selectedOptions].map((o) => o.value);
    } else {
      const control = block.querySelector("input, textarea, select");
      value = control && control.value !== "" ? control.value : null;
    }
    values[block.dataset.blockId] = { [block.dataset.actionId]: value };
  }
  return values;
}

function restoreValues(values) {
  for (const block of $("modal-body").querySelectorAll(".block.input")) {
    const given = (values[block.dataset.blockId] || {})[block.dataset.actionId];
    if (given === undefined) continue;
    const picked = new Set(Array.isArray(given) ? given : [given]);
    for (const input of block.querySelectorAll("input[type=checkbox], input[type=radio]")) input.checked = picked.has(input.value);
    for (const option of block.querySelectorAll("option")) option.selected = picked.has(option.value);
    const text = block.querySelector("input:not([type=checkbox]):not([type=radio]), textarea");
    if (text) text.value = given === null ? "" : given;
  }
}

async function submitModal(event) {
  event.preventDefault();
  const viewId = $("modal").dataset.viewId;
  const button = $("modal-submit");
  button.disabled = true;
  try {
    const result = await postJson("/_emulator/submit_view", { user: state.viewer, view_id: viewId, values: modalValues() });
    if (!result.ok) toast(`submit failed: ${result.error}`, true);
    else if (!result.acked) toast("the bot did not acknowledge the form", true);
  } finally {
    button.disabled = false;
  }
  refresh();
}

async function closeModal() {
  const viewId = $("modal").dataset.viewId;
  const result = await postJson("/_emulator/close_view", { user: state.viewer, view_id: viewId });
  if (!result.ok) toast(`close failed: ${result.error}`, true);
  refresh();
}

async function sendCommand(event) {
  event.preventDefault();
  const input = $("command");
  const line = input.value.trim();
  if (!line) return;
  input.value = "";
  const match = /^(\/[a-z][\w-]*)\s*([\s\S]*)$/.exec(line);
  if (!match) {
    // Not a command: post it as the person (the bot hears it only in channels it is in).
    const posted = await postJson("/_emulator/post_user_message", {
      user: state.viewer, channel: state.channel, text: line,
    });
    if (!posted.ok) toast(`could not post: ${posted.error}`, true);
    return;
  }
  const result = await postJson("/_emulator/slash_command", {
    user: state.viewer, channel: state.channel, command: match[1], text: match[2],
  });
  if (!result.ok) toast(`${match[1]} failed: ${result.error}`, true);
  else if (!result.acked) toast(`the bot did not answer ${match[1]}`, true);
}

async function loadScenarios() {
  const data = await (await fetch("/_emulator/ui/scenarios")).json();
  const list = $("scenario-list");
  list.innerHTML = "";
  $("scenarios-note").textContent = data.configured
    ? "Posts the alert to the bot's webhook, as the monitoring system would."
    : "No bot webhook configured (the sandbox sets one).";
  for (const s of data.scenarios) {
    const li = document.createElement("li");
    li.innerHTML = `<button class="btn" type="button" data-scenario="${esc(s.name)}">⚡ ${esc(s.name)}` +
      `<span class="scenario-title">${esc(s.title)}</span></button>`;
    li.querySelector("button").addEventListener("click", () => fire(s.name));
    list.appendChild(li);
  }
}

async function fire(name) {
  const result = await postJson(`/_emulator/ui/scenarios/${encodeURIComponent(name)}`);
  if (!result.ok) {
    toast(`${name}: ${result.error || "HTTP " + result.status + " " + JSON.stringify(result.response)}`, true);
    return;
  }
  const alerts = (result.response && result.response.alerts) || [];
  const incident = alerts.map((a) => a.incident).find(Boolean);
  toast(incident ? `${name}: ${incident}` : `${name}: sent (${alerts.map((a) => a.outcome).join(", ")})`);
  if (incident) { state.awaiting = incident; refresh(); }
}

function listen() {
  const source = new EventSource("/_emulator/ui/events");
  source.addEventListener("change", () => refresh());
  source.onerror = () => { document.body.classList.add("offline"); };
  source.onopen = () => { document.body.classList.remove("offline"); };
}

$("person").addEventListener("change", (e) => {
  state.viewer = e.target.value;
  localStorage.setItem("viewer", state.viewer);
  if (state.channel === HOME) openHome();
  else refresh();
});
$("home-link").addEventListener("click", () => openChannel(HOME));
$("messages").addEventListener("click", (e) => {
  const button = e.target.closest("button[data-action-id]");
  if (button) click(button);
});
$("messages").addEventListener("change", (e) => {
  const select = e.target.closest("select.menu[data-action-id]");
  if (select) choose(select);
});
$("modal-form").addEventListener("submit", submitModal);
$("modal-close").addEventListener("click", closeModal);
$("modal").addEventListener("cancel", (e) => { e.preventDefault(); closeModal(); }); // Escape closes as Slack's ✕ does
$("composer").addEventListener("submit", sendCommand);
loadScenarios();
if (state.channel === HOME) openHome();
else refresh();
listen();
