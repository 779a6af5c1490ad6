import * as Path from "node:path"

/** The collector's directory: `--dir`, else `EDGE_DIR`, else `./edge-data`. */
export const collectorDir = (dir: string | undefined) => Path.resolve(dir ?? process.env["EDGE_DIR"] ?? "./edge-data")

/** The device identity file, when not /etc/machine-id (`EDGE_MACHINE_ID_FILE`). */
export const machineIdFile = () => process.env["EDGE_MACHINE_ID_FILE"]
