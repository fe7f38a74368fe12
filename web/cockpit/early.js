// The page's first requests, sent before anything else loads: the community,
// its buildings collection, the API's endpoint list and, when it lists one,
// the community's glTF. A module script of its own in index.html, with only
// api.js and the glb reader to fetch first, so the API works on the
// collection while the browser loads the page's other modules and three.js
// (main.js takes these promises over; issue 24's first frame).

import { Api, takeKey } from "./api.js";
import { fetchModelled } from "./model3d.js";

export const cid = decodeURIComponent(location.pathname.replace(/\/+$/, "").split("/").pop());
export const api = new Api(cid, takeKey(location, history, localStorage));
/** [community, buildings collection]; rejects with the first ApiError (404: no access). */
export const loading = Promise.all([api.get(""), api.buildings()]);
loading.catch(() => {}); // main.js awaits it once its view exists
/** {glb}: the endpoint list is known; glb is fetchModelled's promise, or null. */
export const discovered = api.discover().then(() => ({ glb: fetchModelled(api, new URL(location.href)) }));
performance.mark("cockpit:requests");
