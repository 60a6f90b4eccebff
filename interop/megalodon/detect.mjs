// What Whalebird and Fedistar do before signing in: megalodon's `detector` reads the server's
// NodeInfo and names the kind of server ("mastodon", "pleroma", ...), or throws "Unknown SNS".
// Usage: node detect.mjs http://127.0.0.1:PORT  -> prints the detected kind, exits 1 on error.
import { detector } from "megalodon";

try {
  console.log(await detector(process.argv[2]));
} catch (err) {
  console.error(`detector failed: ${err?.message ?? err}`);
  process.exit(1);
}
