// The offline queue's store in IndexedDB: it survives reloads and holds
// photos as Blobs (localStorage could not). One database per community and
// account, so two people sharing a phone never send each other's actions.

import { MemoryStore } from "./queue.js";

function request(req) {
  return new Promise((resolve, reject) => {
    req.onsuccess = () => resolve(req.result);
    req.onerror = () => reject(req.error);
  });
}

function open(name) {
  const req = indexedDB.open(name, 1);
  req.onupgradeneeded = () => {
    req.result.createObjectStore("items", { keyPath: "client_id" });
    req.result.createObjectStore("links");
  };
  return request(req);
}

export class IdbStore {
  constructor(db) {
    this.db = db;
  }

  static async open(community, account) {
    try {
      return new IdbStore(await open(`commtwin-app-${community}-${account}`));
    } catch {
      return new MemoryStore(); // private mode without IndexedDB: the queue lasts the page
    }
  }

  async _do(storeName, mode, fn) {
    const tx = this.db.transaction(storeName, mode);
    const done = new Promise((resolve, reject) => {
      tx.oncomplete = resolve;
      tx.onerror = () => reject(tx.error);
      tx.onabort = () => reject(tx.error);
    });
    const result = request(fn(tx.objectStore(storeName)));
    await done; // written for good before the queue goes on
    return result;
  }

  all() {
    return this._do("items", "readonly", (s) => s.getAll());
  }
  put(item) {
    return this._do("items", "readwrite", (s) => s.put(item));
  }
  remove(clientId) {
    return this._do("items", "readwrite", (s) => s.delete(clientId));
  }
  link(clientId, incidentId) {
    return this._do("links", "readwrite", (s) => s.put(incidentId, clientId));
  }
  async linked(clientId) {
    return (await this._do("links", "readonly", (s) => s.get(clientId))) ?? null;
  }
}
