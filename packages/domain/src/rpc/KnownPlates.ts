/**
 * The known plates procedures (the schemas are KnownPlates.ts'): a plate's note and tags, which the web
 * app shows wherever the plate appears and the search filters by.
 *
 * Operators and admins read and change them; viewers, who do not see plates, call none of these. Every
 * change is audited with the version before and after; every version is kept (sql/0028).
 */
import * as Rpc from "@effect/rpc/Rpc"
import * as RpcGroup from "@effect/rpc/RpcGroup"
import * as Schema from "effect/Schema"
import { BadRequest, NotFound } from "../Errors"
import {
  KnownPlate,
  KnownPlateDetail,
  KnownPlateInput,
  KnownPlatePage,
  KnownPlateQuery,
  KnownPlateSet,
  MAX_LOOKUP,
  TagInUse
} from "../KnownPlates"
import { RequiredRole, RpcSession } from "./Common"

const PlateRef = { plate: KnownPlateInput }

export class KnownPlatesRpcs extends RpcGroup.make(
  Rpc.make("knownPlates.get", { payload: PlateRef, success: KnownPlateDetail }),
  /** The plates among those given that carry a note or a tag, for decorating a page of reads. */
  Rpc.make("knownPlates.lookup", {
    payload: {
      plates: Schema.Array(KnownPlateInput).pipe(
        Schema.maxItems(MAX_LOOKUP, { message: () => `at most ${MAX_LOOKUP} plates a lookup` })
      )
    },
    success: Schema.Array(KnownPlate)
  }),
  /** Sets the note and the tags together (the tags replace the plate's); an unchanged value is no new version. */
  Rpc.make("knownPlates.set", { payload: KnownPlateSet, success: KnownPlateDetail, error: BadRequest }),
  Rpc.make("knownPlates.clear", { payload: PlateRef, success: KnownPlateDetail, error: NotFound }),
  Rpc.make("knownPlates.list", { payload: KnownPlateQuery, success: KnownPlatePage }),
  /** The tags on plates now, most used first. */
  Rpc.make("knownPlates.tags", { payload: {}, success: Schema.Array(TagInUse) })
).annotateRpcs(RequiredRole, "operator").middleware(RpcSession) {}
