// Idempotent initialisation of the pacbench compose replica set (rs0).
// Run by the mongo-init service with mongosh against mongo1; safe to re-run:
// an already initiated set is left as it is.
//
// Members are named by their peer proxies (pacbench-mongoN is a network alias
// of the toxiproxy container; port 2701N is proxy mongoN-peer), so every
// member-to-member connection crosses Toxiproxy and can be impaired. On the
// host, the same names resolve to 127.0.0.1 (see docs/compose.md), where
// ports 27011-27013 reach the client proxies mongoN-client.
const config = {
  _id: "rs0",
  members: [
    { _id: 0, host: "pacbench-mongo1:27011", priority: 2 },
    { _id: 1, host: "pacbench-mongo2:27012", priority: 1 },
    { _id: 2, host: "pacbench-mongo3:27013", priority: 1 },
  ],
};

let initiated = true;
try {
  rs.status();
} catch (e) {
  if (e.codeName !== "NotYetInitialized") {
    throw e;
  }
  initiated = false;
}

if (initiated) {
  print("rs0: already initiated");
} else {
  printjson(rs.initiate(config));
}

// Wait (up to 120 s) until the set has a primary.
for (let i = 0; i < 120; i++) {
  try {
    if (rs.status().members.some((m) => m.stateStr === "PRIMARY")) {
      print("rs0: primary elected");
      quit(0);
    }
  } catch (e) {
    // not ready yet
  }
  sleep(1000);
}
print("rs0: no primary after 120 s");
quit(1);
