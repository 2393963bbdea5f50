/** One file moved through the proxy, as a `file-transfer` activity event describes it. */
export interface FileTransfer {
  protocol: 'scp' | 'sftp';
  direction: 'upload' | 'download';
  path: string;
  /** Bytes that went through the proxy for this file. */
  bytes: number;
  /** Size the protocol announced (scp headers), when it did. */
  size?: number;
  complete: boolean;
}

export interface FileOperation {
  protocol: 'sftp';
  operation: 'remove' | 'rename' | 'mkdir' | 'rmdir';
  path: string;
  to?: string;
}

export const transferText = (t: FileTransfer): string => `${t.direction} ${t.path}`;
