import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import * as Option from "effect/Option"
import * as Path from "node:path"
import { AppConfig } from "../Config"
import { fileSystemLayer } from "./ObjectStore"
import { s3Layer } from "./S3ObjectStore"

/** MinIO/S3 when S3_ENDPOINT is set, otherwise files under DATA_DIR/objects. */
export const ObjectStoreLayer = Layer.unwrapEffect(
  Effect.map(AppConfig, (config) =>
    Option.match(config.s3, {
      onSome: s3Layer,
      onNone: () => fileSystemLayer(Path.join(config.dataDir, "objects"))
    }))
)
