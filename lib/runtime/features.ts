import {
  CRI_CONTAINER_TYPE_ANNOTATION,
  FIRMWARE_ANNOTATION,
  PROCESSOR_ANNOTATION,
  RESOLVED_PATH_ANNOTATION,
} from "../oci/spec.ts";
import { OCI_VERSION } from "./state.ts";

/** The OCI features document (runtime-spec features.md) this runtime prints. */
export interface Features {
  ociVersionMin: string;
  ociVersionMax: string;
  hooks: string[];
  mountOptions: string[];
  linux: {
    namespaces: string[];
    capabilities: string[];
    cgroup: { v1: boolean; v2: boolean; systemd: boolean; systemdUser: boolean };
    seccomp: { enabled: boolean };
    apparmor: { enabled: boolean };
    selinux: { enabled: boolean };
  };
  annotations: Record<string, string>;
  potentiallyUnsafeConfigAnnotations: string[];
}

/**
 * What this runtime supports, as an OCI features document. Empty lists are a positive "none": no hooks, mount
 * options, namespaces or capabilities are applied, because firmware runs on a remote processor, not in a Linux
 * process. `annotations` documents the annotations the runtime reads and the ones it adds to the state.
 *
 * @example
 * ```ts
 * console.log(JSON.stringify(runtimeFeatures(), null, 2));
 * ```
 */
export function runtimeFeatures(): Features {
  return {
    ociVersionMin: "1.0.0",
    ociVersionMax: OCI_VERSION,
    hooks: [],
    mountOptions: [],
    linux: {
      namespaces: [],
      capabilities: [],
      cgroup: { v1: false, v2: false, systemd: false, systemdUser: false },
      seccomp: { enabled: false },
      apparmor: { enabled: false },
      selinux: { enabled: false },
    },
    annotations: {
      [PROCESSOR_ANNOTATION]: "read: the name of the remote processor to run the firmware on (required)",
      [CRI_CONTAINER_TYPE_ANNOTATION]:
        "read: the value sandbox marks a Kubernetes pod sandbox, run without a processor",
      [RESOLVED_PATH_ANNOTATION]: "written to the state: the processor's sysfs directory",
      [FIRMWARE_ANNOTATION]: "written to the state: the path of the stored firmware copy",
    },
    potentiallyUnsafeConfigAnnotations: [],
  };
}
