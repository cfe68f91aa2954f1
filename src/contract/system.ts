import { nullable, nullableTimestamp, oneOf, timestamp, Type, type Static } from './schema.js';

/** How a node stands, from its heartbeats: `up` while it wrote one lately, `silent` when it stopped. */
export const NODE_STATES = ['up', 'silent'] as const;

export const SystemNode = Type.Object({
  id: Type.String({ description: 'The node, named at its start (node_...); a restarted process is a new node.' }),
  host: Type.String({ description: "The machine's host name." }),
  version: Type.String({ description: 'The version of Keyport it runs.' }),
  startedAt: timestamp,
  lastSeenAt: timestamp,
  state: oneOf(NODE_STATES, { description: 'up: it wrote a heartbeat within the last three intervals; silent: it stopped (or cannot reach the store).' }),
  syncLagMs: nullable(Type.Integer({ description: "How far behind the cluster event log the node's view was at its last heartbeat (ms); null before its first read." })),
  lastError: nullable(Type.String({ description: 'The last background error the node logged (the store or Redis unavailable, say), if any since its start.' })),
  lastErrorAt: nullableTimestamp,
  self: Type.Boolean({ description: 'The node that answered this request.' }),
});
export type SystemNode = Static<typeof SystemNode>;

export const SystemNodes = Type.Object({
  heartbeatIntervalSeconds: Type.Integer(),
  nodes: Type.Array(SystemNode),
});
export type SystemNodes = Static<typeof SystemNodes>;
