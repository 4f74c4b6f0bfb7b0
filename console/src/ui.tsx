// The console's building blocks over React Aria Components (labels, focus, keyboard and
// screen-reader behaviour come from there; the look from console.css).
import { useState } from 'react';
import type { ReactNode } from 'react';
import {
  Button as AriaButton,
  Dialog,
  FieldError,
  Heading,
  Input,
  Label,
  ListBox,
  ListBoxItem,
  Modal,
  ModalOverlay,
  Popover,
  Select as AriaSelect,
  SelectValue,
  Text,
  TextArea,
  TextField,
} from 'react-aria-components';
import { ApiError, describe } from './api';
import type { Decision } from './permissions';

export function Button(props: {
  children: ReactNode;
  onPress?: () => void;
  type?: 'button' | 'submit';
  variant?: 'primary' | 'secondary' | 'danger' | 'quiet';
  isDisabled?: boolean;
  'aria-label'?: string;
  'aria-describedby'?: string;
  'data-action'?: string;
}) {
  const { variant = 'secondary', ...rest } = props;
  return <AriaButton {...rest} className={`button ${variant}`} />;
}

/**
 * A button for one GraphQL action: absent when the viewer's role does not allow it, disabled
 * (with the reason beside it) when the object forbids it, marked when a second-factor check
 * comes first. `data-action` names the mutation, so tests can read what is offered.
 */
export function ActionButton(props: {
  action: string;
  decision: Decision;
  children: ReactNode;
  onPress: () => void;
  variant?: 'primary' | 'secondary' | 'danger' | 'quiet';
  /** Why the action does not apply to this object, when it does not. */
  unavailable?: string | null;
  label?: string;
}) {
  const { action, decision, unavailable, label } = props;
  if (!decision.allowed) return null;
  const stepUpNote = decision.stepUp ? ' (asks for your second factor)' : '';
  // The name says what the mark shows; a symbol is not part of the visible text it must hold.
  const name = label ?? (decision.stepUp && typeof props.children === 'string' ? props.children : undefined);
  return (
    <AriaButton
      className={`button ${props.variant ?? 'secondary'}${decision.stepUp ? ' step-up' : ''}`}
      data-action={action}
      data-step-up={decision.stepUp || undefined}
      isDisabled={Boolean(unavailable)}
      aria-label={name ? name + stepUpNote : undefined}
      onPress={props.onPress}
    >
      {props.children}
      {decision.stepUp && (
        <span className="step-up-mark" aria-hidden="true" title="Asks for your second factor">
          ✱
        </span>
      )}
      {unavailable && <span className="visually-hidden">: {unavailable}</span>}
    </AriaButton>
  );
}

export function Field(props: {
  label: string;
  value: string;
  onChange: (value: string) => void;
  type?: string;
  name?: string;
  description?: string;
  error?: string | null;
  autoComplete?: string;
  isRequired?: boolean;
  multiline?: boolean;
  autoFocus?: boolean;
  inputMode?: 'numeric' | 'text' | 'email' | 'url';
}) {
  return (
    <TextField
      className="field"
      value={props.value}
      onChange={props.onChange}
      // Emails and URLs are checked by the server, which names the field at fault: the
      // browser's own check of `type=email` would silently block the form instead.
      type={props.type === 'email' || props.type === 'url' ? 'text' : props.type}
      name={props.name}
      autoComplete={props.autoComplete}
      isRequired={props.isRequired}
      // The server checks every value and names the field at fault; the browser's own checks
      // would block a form whose field the server marked until the mark was cleared.
      validationBehavior="aria"
      isInvalid={Boolean(props.error)}
      autoFocus={props.autoFocus}
      inputMode={props.inputMode ?? (props.type === 'email' ? 'email' : props.type === 'url' ? 'url' : undefined)}
    >
      <Label>{props.label}</Label>
      {props.multiline ? <TextArea rows={6} /> : <Input />}
      {props.description && <Text slot="description">{props.description}</Text>}
      <FieldError>{props.error}</FieldError>
    </TextField>
  );
}

export interface Option {
  id: string;
  label: string;
  isDisabled?: boolean;
}

export function Select(props: {
  label: string;
  options: Option[];
  value: string | null;
  onChange: (value: string) => void;
  description?: string;
  error?: string | null;
  placeholder?: string;
}) {
  const disabledKeys = props.options.filter((option) => option.isDisabled).map((option) => option.id);
  return (
    <AriaSelect
      className="field select"
      selectedKey={props.value}
      onSelectionChange={(key) => key !== null && props.onChange(String(key))}
      disabledKeys={disabledKeys}
      validationBehavior="aria"
      isInvalid={Boolean(props.error)}
      placeholder={props.placeholder ?? 'Choose…'}
    >
      <Label>{props.label}</Label>
      <AriaButton className="select-button">
        <SelectValue />
        <span aria-hidden="true">▾</span>
      </AriaButton>
      {props.description && <Text slot="description">{props.description}</Text>}
      <FieldError>{props.error}</FieldError>
      <Popover className="popover">
        <ListBox className="listbox">
          {props.options.map((option) => (
            <ListBoxItem key={option.id} id={option.id} className="option" textValue={option.label}>
              {option.label}
            </ListBoxItem>
          ))}
        </ListBox>
      </Popover>
    </AriaSelect>
  );
}

/** A dialog opened by its parent (`open`), closed by Escape, its close button or `onClose`. */
export function DialogBox(props: {
  title: string;
  open: boolean;
  onClose: () => void;
  children: ReactNode;
}) {
  return (
    <ModalOverlay
      className="overlay"
      isOpen={props.open}
      isDismissable
      onOpenChange={(open) => !open && props.onClose()}
    >
      <Modal className="modal">
        <Dialog className="dialog">
          <Heading slot="title">{props.title}</Heading>
          {props.children}
        </Dialog>
      </Modal>
    </ModalOverlay>
  );
}

/** An error from the server or the browser, announced to screen readers. */
export function ErrorNote({ error }: { error: unknown }) {
  if (!error) return null;
  const forbidden = error instanceof ApiError && error.code === 'FORBIDDEN';
  return (
    <p className="error-note" role="alert">
      {forbidden ? 'Not allowed: ' : ''}
      {describe(error)}
    </p>
  );
}

/** The error of an input field, when the server named that field. */
export function fieldError(error: unknown, field: string): string | null {
  return error instanceof ApiError && error.field === field ? error.message : null;
}

/** A value shown once (a secret): selectable, with a button that copies it. */
export function SecretOnce({ label, value }: { label: string; value: string }) {
  const [copied, setCopied] = useState(false);
  return (
    <div className="secret">
      <p>
        <strong>{label}</strong> It is shown this once: copy it now.
      </p>
      <code data-secret>{value}</code>
      <Button
        onPress={() => {
          void navigator.clipboard.writeText(value).then(() => setCopied(true));
        }}
      >
        {copied ? 'Copied' : 'Copy'}
      </Button>
      <span role="status" className="visually-hidden">
        {copied ? 'Copied to the clipboard' : ''}
      </span>
    </div>
  );
}

/**
 * A table's box, scrolled sideways on narrow screens: a labelled region that takes focus, so
 * that a keyboard can scroll it too.
 */
export function ScrollBox(props: { label: string; children: ReactNode; 'aria-busy'?: boolean }) {
  return (
    <div className="table-wrap" role="region" aria-label={props.label} tabIndex={0} aria-busy={props['aria-busy']}>
      {props.children}
    </div>
  );
}

/** Forward pages over a connection: the cursors seen so far, to go back. */
export function usePages() {
  const [cursors, setCursors] = useState<Array<string | null>>([null]);
  const after = cursors[cursors.length - 1];
  return {
    after,
    page: cursors.length,
    next: (cursor: string | null | undefined) => cursor && setCursors([...cursors, cursor]),
    previous: () => setCursors(cursors.length > 1 ? cursors.slice(0, -1) : cursors),
    reset: () => setCursors([null]),
  };
}

export function Pager(props: {
  page: number;
  hasNext: boolean;
  onNext: () => void;
  onPrevious: () => void;
  total: number;
  label: string;
}) {
  return (
    <nav className="pager" aria-label={`${props.label} pages`}>
      <Button isDisabled={props.page === 1} onPress={props.onPrevious}>
        Previous
      </Button>
      <span>
        Page {props.page} · {props.total} in all
      </span>
      <Button isDisabled={!props.hasNext} onPress={props.onNext}>
        Next
      </Button>
    </nav>
  );
}

/** Hands `blob` to the browser as a download named `name`. */
export function saveFile(blob: Blob, name: string) {
  const url = URL.createObjectURL(blob);
  const link = document.createElement('a');
  link.href = url;
  link.download = name;
  link.click();
  URL.revokeObjectURL(url);
}

export function formatDate(value: string | null | undefined): string {
  if (!value) return '—';
  return new Date(value).toLocaleString(undefined, { dateStyle: 'medium', timeStyle: 'short' });
}
