/**
 * Network namespaces for the live tests: a private namespace, or two joined by a veth pair, each
 * named `snout-t-PID-N...` so that parallel runs never clash, with IPv6 off so that the only
 * packets on the wire are the ones a test sends. `destroy()` kills what it started, by PID, and
 * deletes the namespaces.
 *
 * Needs root (or CAP_SYS_ADMIN and CAP_NET_ADMIN), `ip` from iproute2 and `sysctl`.
 *
 * @module
 */

/** Prefix of every namespace these helpers create from this process. */
export const NAMESPACE_PREFIX = `snout-t-${Deno.pid}-`;

/** How long a process started in a namespace may run before it is killed, unless told. */
const DEFAULT_TIMEOUT_MS = 20_000;

let counter = 0;
/** Every process started through {@linkcode Namespace.spawn} that has not yet been reaped. */
const running = new Set<Deno.ChildProcess>();

/** What a finished command printed, and its exit status. */
export interface CommandResult {
  code: number;
  stdout: string;
  stderr: string;
}

/** A process started in a namespace, killed by PID after its timeout. */
export interface NamespaceProcess {
  /** The process's PID (`ip netns exec` execs the command, so it is the command's own). */
  readonly pid: number;
  /** Standard error as read so far. */
  stderr(): string;
  /** Resolves with the text once standard error contains `pattern`, or rejects on exit. */
  waitForStderr(pattern: RegExp, timeoutMs?: number): Promise<string>;
  /** Sends a signal to the process by its PID, if it is still running. */
  kill(signal?: Deno.Signal): void;
  /** Waits for the process to end and returns what it printed. */
  finished(): Promise<CommandResult>;
}

/** The environment a child sees: ours without sudo's variables (snout would drop to them). */
function childEnv(extra: Record<string, string>): Record<string, string> {
  const env = Deno.env.toObject();
  for (const name of ["SUDO_UID", "SUDO_GID", "SUDO_USER", "SUDO_COMMAND"]) delete env[name];
  return { ...env, NO_COLOR: "1", ...extra };
}

async function collect(stream: ReadableStream<Uint8Array>, onText: (text: string) => void) {
  const decoder = new TextDecoder();
  for await (const chunk of stream) onText(decoder.decode(chunk, { stream: true }));
  onText(decoder.decode());
}

/** Runs a command to completion and returns its output; throws when `check` and it fails. */
export async function command(
  program: string,
  args: string[],
  options: { check?: boolean; env?: Record<string, string> } = {},
): Promise<CommandResult> {
  const output = await new Deno.Command(program, {
    args,
    stdin: "null",
    stdout: "piped",
    stderr: "piped",
    clearEnv: true,
    env: childEnv(options.env ?? {}),
  }).output();
  const decoder = new TextDecoder();
  const result = {
    code: output.code,
    stdout: decoder.decode(output.stdout),
    stderr: decoder.decode(output.stderr),
  };
  if ((options.check ?? true) && result.code !== 0) {
    throw new Error(
      `Command failed (${result.code}): ${program} ${args.join(" ")}: ${result.stderr.trim()}`,
    );
  }
  return result;
}

/** One network namespace made by these helpers. */
export class Namespace {
  /** The namespace's name, as `ip netns` knows it. */
  readonly name: string;
  readonly #children = new Set<Deno.ChildProcess>();

  constructor(name: string) {
    this.name = name;
  }

  /** Runs a command inside the namespace to completion. */
  exec(
    program: string,
    args: string[],
    options: { check?: boolean; env?: Record<string, string> } = {},
  ): Promise<CommandResult> {
    return command("ip", ["netns", "exec", this.name, program, ...args], options);
  }

  /** Runs an `ip` command against the namespace (`ip -n NAME ...`). */
  ip(...args: string[]): Promise<CommandResult> {
    return command("ip", ["-n", this.name, ...args]);
  }

  /** The text of a file under /sys/class/net, as the namespace sees it. */
  async sysNet(iface: string, file: string): Promise<string> {
    return (await this.exec("cat", [`/sys/class/net/${iface}/${file}`])).stdout.trim();
  }

  /**
   * Starts a command inside the namespace, killed (SIGKILL, by PID) after `timeoutMs`; its
   * output is collected as it comes.
   */
  spawn(
    program: string,
    args: string[],
    options: { timeoutMs?: number; env?: Record<string, string> } = {},
  ): NamespaceProcess {
    const child = new Deno.Command("ip", {
      args: ["netns", "exec", this.name, program, ...args],
      stdin: "null",
      stdout: "piped",
      stderr: "piped",
      clearEnv: true,
      env: childEnv(options.env ?? {}),
    }).spawn();
    this.#children.add(child);
    running.add(child);
    let stdout = "";
    let stderr = "";
    const listeners = new Set<() => void>();
    const reading = Promise.all([
      collect(child.stdout, (text) => stdout += text),
      collect(child.stderr, (text) => {
        stderr += text;
        for (const listener of listeners) listener();
      }),
    ]);
    let exited = false;
    const timer = setTimeout(() => {
      if (!exited) child.kill("SIGKILL");
    }, options.timeoutMs ?? DEFAULT_TIMEOUT_MS);
    const status = child.status.then((status) => {
      exited = true;
      clearTimeout(timer);
      for (const listener of listeners) listener();
      return status;
    });
    const done = Promise.all([status, reading]).then(([status]) => {
      this.#children.delete(child);
      running.delete(child);
      return { code: status.code, stdout, stderr };
    });
    return {
      pid: child.pid,
      stderr: () => stderr,
      waitForStderr(pattern, timeoutMs = 10_000) {
        return new Promise((resolve, reject) => {
          const check = () => {
            if (pattern.test(stderr)) finish(() => resolve(stderr));
            else if (exited) {
              finish(() => reject(new Error(`Process ended before ${pattern}: ${stderr}`)));
            }
          };
          const timeout = setTimeout(
            () => finish(() => reject(new Error(`Timed out waiting for ${pattern}: ${stderr}`))),
            timeoutMs,
          );
          const finish = (settle: () => void) => {
            clearTimeout(timeout);
            listeners.delete(check);
            settle();
          };
          listeners.add(check);
          check();
        });
      },
      kill(signal: Deno.Signal = "SIGTERM") {
        if (!exited) child.kill(signal);
      },
      finished: () => done,
    };
  }

  /** Kills (by PID) what this namespace's `spawn` started and is still running, and waits. */
  async killChildren(): Promise<void> {
    const children = [...this.#children];
    for (const child of children) {
      try {
        child.kill("SIGKILL");
      } catch {
        // it ended on its own between the check and the kill
      }
    }
    await Promise.allSettled(children.map((child) => child.status));
  }

  /** Deletes the namespace; processes still in it are ours, and are killed by PID first. */
  async delete(): Promise<void> {
    await this.killChildren();
    const pids = await command("ip", ["netns", "pids", this.name], { check: false });
    for (const pid of pids.stdout.split(/\s+/).filter((text) => /^[0-9]+$/.test(text))) {
      try {
        Deno.kill(Number(pid), "SIGKILL");
      } catch {
        // already gone
      }
    }
    await command("ip", ["netns", "delete", this.name], { check: false });
  }
}

async function createNamespace(name: string): Promise<Namespace> {
  await command("ip", ["netns", "add", name]);
  const ns = new Namespace(name);
  try {
    // IPv6 off before any interface exists, so no router or neighbour solicitation appears.
    for (const key of ["all", "default"]) {
      await ns.exec("sysctl", ["-q", "-w", `net.ipv6.conf.${key}.disable_ipv6=1`]);
    }
    await ns.ip("link", "set", "lo", "up");
  } catch (error) {
    await ns.delete();
    throw error;
  }
  return ns;
}

/** A private namespace with lo up and IPv6 off. */
export interface SingleNamespace extends Namespace {
  /** Deletes the namespace after killing what was started in it. */
  destroy(): Promise<void>;
}

/** Creates a private namespace with only lo, up, and IPv6 off. */
export async function namespace(): Promise<SingleNamespace> {
  const ns = await createNamespace(`${NAMESPACE_PREFIX}${++counter}`);
  return Object.assign(ns, { destroy: () => ns.delete() });
}

/** Two namespaces joined by a veth pair. */
export interface NamespacePair {
  /** Namespace A, holding `vethA` with `addressA`. */
  a: Namespace;
  /** Namespace B, holding `vethB` with `addressB`. */
  b: Namespace;
  /** The veth end in A. */
  vethA: "vethA";
  /** The veth end in B. */
  vethB: "vethB";
  /** The /24 this pair uses: 10.77.`subnet`.0. */
  subnet: number;
  /** 10.77.X.1, on vethA. */
  addressA: string;
  /** 10.77.X.2, on vethB. */
  addressB: string;
  /** vethA's MAC address. */
  macA: string;
  /** vethB's MAC address. */
  macB: string;
  /** vethA's interface index inside A. */
  ifindexA: number;
  /** Kills (by PID) every process started in either namespace, then deletes both. */
  destroy(): Promise<void>;
}

/**
 * Creates namespaces A and B joined by vethA (10.77.X.1/24) and vethB (10.77.X.2/24), X unique
 * in this process; lo and both ends are up, IPv6 is off. The veth is made inside A with its peer
 * placed straight into B, so nothing is ever created in the caller's namespace.
 */
export async function namespacePair(): Promise<NamespacePair> {
  const subnet = ++counter;
  if (subnet > 254) throw new RangeError("Too many namespace pairs in one process");
  const a = await createNamespace(`${NAMESPACE_PREFIX}${subnet}a`);
  let b: Namespace | undefined;
  try {
    b = await createNamespace(`${NAMESPACE_PREFIX}${subnet}b`);
    const addressA = `10.77.${subnet}.1`;
    const addressB = `10.77.${subnet}.2`;
    await a.ip("link", "add", "vethA", "type", "veth", "peer", "name", "vethB", "netns", b.name);
    await a.ip("addr", "add", `${addressA}/24`, "dev", "vethA");
    await b.ip("addr", "add", `${addressB}/24`, "dev", "vethB");
    await a.ip("link", "set", "vethA", "up");
    await b.ip("link", "set", "vethB", "up");
    const pairB = b;
    return {
      a,
      b,
      vethA: "vethA",
      vethB: "vethB",
      subnet,
      addressA,
      addressB,
      macA: await a.sysNet("vethA", "address"),
      macB: await b.sysNet("vethB", "address"),
      ifindexA: Number(await a.sysNet("vethA", "ifindex")),
      destroy: async () => {
        await Promise.all([a.delete(), pairB.delete()]);
      },
    };
  } catch (error) {
    await Promise.all([a.delete(), b?.delete()]);
    throw error;
  }
}

/** The namespaces this process created that still exist. */
export async function leftoverNamespaces(): Promise<string[]> {
  const list = await command("ip", ["netns", "list"]);
  return list.stdout.split("\n").map((line) => line.split(" ")[0]!).filter((name) =>
    name.startsWith(NAMESPACE_PREFIX)
  );
}

/** How many processes started through these helpers are still running or unreaped. */
export function runningProcesses(): number {
  return running.size;
}
