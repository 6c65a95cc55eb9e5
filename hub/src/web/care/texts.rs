//! What caregivers read on `/care`, in German (first, and exactly the German of before) and in
//! English, Ukrainian, Arabic and Turkish: one [`Text`] per sentence, short and plain. "Zentrale"
//! is the region's office, as on the kiosk's tickets ("центр", "المركز", "merkez").

use super::super::i18n::Text;

// ---- Home and people ----

pub const WELCOME: Text = Text {
    de: "Willkommen! Ihr Konto ist angelegt. Ihr Benutzername zum Anmelden: {username}",
    en: "Welcome! Your account has been created. Your user name for logging in: {username}",
    uk: "Вітаємо! Ваш обліковий запис створено. Ваше ім’я користувача для входу: {username}",
    ar: "أهلًا وسهلًا! تم إنشاء حسابك. اسم المستخدم لتسجيل الدخول: {username}",
    tr: "Hoş geldiniz! Hesabınız oluşturuldu. Giriş için kullanıcı adınız: {username}",
};
pub const REQUESTED: Text = Text {
    de: "Danke! Ihre Anfrage ist eingegangen. Die Zentrale fragt die Person, ob sie einverstanden \
         ist. Danach sehen Sie die Person hier.",
    en: "Thank you! We have your request. The office will ask the person if they agree. After \
         that you will see the person here.",
    uk: "Дякуємо! Ваш запит отримано. Центр запитає людину, чи вона згодна. Після цього ви \
         побачите її тут.",
    ar: "شكرًا! وصلنا طلبك. سيسأل المركز الشخص إن كان موافقًا. بعد ذلك سترى الشخص هنا.",
    tr: "Teşekkürler! Talebiniz alındı. Merkez kişiye kabul edip etmediğini soracak. Ardından \
         kişiyi burada göreceksiniz.",
};
pub const NO_PEOPLE: Text = Text {
    de: "Sie haben noch keine Personen. Fragen Sie unten nach einer Person.",
    en: "You have no people yet. Ask for a person below.",
    uk: "У вас ще немає підопічних. Додайте людину нижче.",
    ar: "لا يوجد لديك أشخاص بعد. اطلب إضافة شخص في الأسفل.",
    tr: "Henüz kişi yok. Aşağıdan bir kişi ekleme isteği gönderin.",
};
pub const NUMBER: Text = Text {
    de: "Nummer",
    en: "Number",
    uk: "Номер",
    ar: "الرقم",
    tr: "Numara",
};
pub const QUESTIONS: Text = Text {
    de: "Fragen? Zentrale {region}: ",
    en: "Questions? {region} office: ",
    uk: "Питання? Центр {region}: ",
    ar: "أسئلة؟ مركز {region}: ",
    tr: "Sorular? {region} merkezi: ",
};
pub const YOUR_USERNAME: Text = Text {
    de: "Ihr Benutzername zum Anmelden: ",
    en: "Your user name for logging in: ",
    uk: "Ваше ім’я користувача для входу: ",
    ar: "اسم المستخدم لتسجيل الدخول: ",
    tr: "Giriş için kullanıcı adınız: ",
};
pub const NOTHING_PLANNED: Text = Text {
    de: "Keine Fahrten oder Termine geplant.",
    en: "No rides or appointments planned.",
    uk: "Немає запланованих поїздок чи консультацій.",
    ar: "لا توجد رحلات أو مواعيد مخطط لها.",
    tr: "Planlanmış yolculuk veya randevu yok.",
};
pub const BOOK_RIDE: Text = Text {
    de: "Fahrt buchen",
    en: "Book a ride",
    uk: "Замовити поїздку",
    ar: "حجز رحلة",
    tr: "Yolculuk rezerve et",
};
pub const BOOK_COUNSELLING: Text = Text {
    de: "Beratung buchen",
    en: "Book counselling",
    uk: "Записатися на консультацію",
    ar: "حجز استشارة",
    tr: "Danışmanlık randevusu al",
};
/// Read by screen readers after a button's label.
pub const FOR_NAME: Text = Text {
    de: " für {name}",
    en: " for {name}",
    uk: " для: {name}",
    ar: " من أجل {name}",
    tr: " ({name} için)",
};
pub const BACK_TO_PEOPLE: Text = Text {
    de: "Zurück zu meinen Personen",
    en: "Back to my people",
    uk: "Назад до моїх підопічних",
    ar: "العودة إلى الأشخاص الذين أرعاهم",
    tr: "Baktığım kişilere dön",
};
pub const BACK: Text = Text {
    de: "Zurück",
    en: "Back",
    uk: "Назад",
    ar: "رجوع",
    tr: "Geri",
};
pub const BACK_TO: Text = Text {
    de: "Zurück zu {name}",
    en: "Back to {name}",
    uk: "Назад: {name}",
    ar: "العودة إلى {name}",
    tr: "Geri: {name}",
};

// ---- A booking in a few words ----

pub const CANCELLED: Text = Text {
    de: "Abgesagt",
    en: "Cancelled",
    uk: "Скасовано",
    ar: "أُلغي",
    tr: "İptal edildi",
};
pub const REQUESTED_NO_TIME: Text = Text {
    de: "Angefragt, noch ohne Abholzeit",
    en: "Requested, no pickup time yet",
    uk: "Запит надіслано, час подачі ще не відомий",
    ar: "مطلوبة، ولم يُحدَّد وقت الاصطحاب بعد",
    tr: "Talep edildi, alınma saati henüz yok",
};
pub const CONFIRMED: Text = Text {
    de: "Bestätigt",
    en: "Confirmed",
    uk: "Підтверджено",
    ar: "مؤكدة",
    tr: "Onaylandı",
};
pub const ON_THE_WAY: Text = Text {
    de: "Unterwegs",
    en: "On the way",
    uk: "У дорозі",
    ar: "في الطريق",
    tr: "Yolda",
};
pub const DRIVEN: Text = Text {
    de: "Gefahren",
    en: "Done",
    uk: "Поїздку здійснено",
    ar: "تمت الرحلة",
    tr: "Gerçekleşti",
};
pub const NO_SHOW: Text = Text {
    de: "Nicht angetroffen",
    en: "Missed (not there)",
    uk: "Неявка",
    ar: "عدم الحضور",
    tr: "Gelmedi",
};
pub const BOOKED: Text = Text {
    de: "Gebucht",
    en: "Booked",
    uk: "Заброньовано",
    ar: "محجوز",
    tr: "Rezerve edildi",
};
pub const ATTENDED: Text = Text {
    de: "Wahrgenommen",
    en: "Attended",
    uk: "Відвідано",
    ar: "تم الحضور",
    tr: "Katıldı",
};
pub const UNKNOWN: Text = Text {
    de: "Unbekannt",
    en: "Unknown",
    uk: "Невідомо",
    ar: "غير معروف",
    tr: "Bilinmiyor",
};

/// The counselling topics by code (the order of the form).
pub const TOPICS: &[(&str, Text)] = &[
    (
        "health",
        Text {
            de: "Gesundheit",
            en: "Health",
            uk: "Здоров’я",
            ar: "الصحة",
            tr: "Sağlık",
        },
    ),
    (
        "care",
        Text {
            de: "Pflege",
            en: "Care",
            uk: "Догляд",
            ar: "الرعاية",
            tr: "Bakım",
        },
    ),
    (
        "money",
        Text {
            de: "Geld und Anträge",
            en: "Money and forms",
            uk: "Гроші та заяви",
            ar: "المال والطلبات الرسمية",
            tr: "Para ve başvurular",
        },
    ),
    (
        "housing",
        Text {
            de: "Wohnen",
            en: "Housing",
            uk: "Житло",
            ar: "السكن",
            tr: "Konut",
        },
    ),
    (
        "loneliness",
        Text {
            de: "Einsamkeit",
            en: "Loneliness",
            uk: "Самотність",
            ar: "الوحدة",
            tr: "Yalnızlık",
        },
    ),
    (
        "addiction",
        Text {
            de: "Sucht",
            en: "Addiction",
            uk: "Залежність",
            ar: "الإدمان",
            tr: "Bağımlılık",
        },
    ),
    (
        "family",
        Text {
            de: "Familie",
            en: "Family",
            uk: "Сім’я",
            ar: "الأسرة",
            tr: "Aile",
        },
    ),
    (
        "other",
        Text {
            de: "Sonstiges",
            en: "Other",
            uk: "Інше",
            ar: "أخرى",
            tr: "Diğer",
        },
    ),
];

pub const WINDOW: Text = Text {
    de: "{start} bis {end} Uhr",
    en: "{start} to {end}",
    uk: "з {start} до {end}",
    ar: "من {start} إلى {end}",
    tr: "{start}–{end} arası",
};
pub const BETWEEN: Text = Text {
    de: "zwischen {start} bis {end} Uhr",
    en: "between {start} and {end}",
    uk: "між {start} і {end}",
    ar: "بين {start} و{end}",
    tr: "{start} ile {end} arası",
};
pub const RIDE_TO: Text = Text {
    de: "Fahrt zu {to}",
    en: "Ride to {to}",
    uk: "Поїздка до: {to}",
    ar: "رحلة إلى {to}",
    tr: "Yolculuk: {to}",
};
pub const COUNSELLING_ABOUT: Text = Text {
    de: "Beratung ({topic})",
    en: "Counselling ({topic})",
    uk: "Консультація ({topic})",
    ar: "استشارة ({topic})",
    tr: "Danışmanlık ({topic})",
};
pub const HOME: Text = Text {
    de: "Zuhause, {street}",
    en: "Home, {street}",
    uk: "Вдома, {street}",
    ar: "المنزل، {street}",
    tr: "Ev, {street}",
};
pub const IMBUS_PLACE: Text = Text {
    de: "IMBUS-Beratungsbus, {stop}, {village}",
    en: "IMBUS counselling bus, {stop}, {village}",
    uk: "Консультаційний автобус IMBUS, {stop}, {village}",
    ar: "حافلة الاستشارة IMBUS، {stop}، {village}",
    tr: "IMBUS danışma otobüsü, {stop}, {village}",
};
pub const KIOSK_PLACE: Text = Text {
    de: "Sprechstunde am Dorfpunkt, {village}",
    en: "Consultation hours at the Dorfpunkt, {village}",
    uk: "Прийом у Dorfpunkt, {village}",
    ar: "ساعات الاستشارة في Dorfpunkt، {village}",
    tr: "Dorfpunkt'ta danışma saati, {village}",
};
pub const PICKUP_AT: Text = Text {
    de: "Abholung: {window}",
    en: "Pickup: {window}",
    uk: "Подача: {window}",
    ar: "الاصطحاب: {window}",
    tr: "Alınma: {window}",
};
pub const NO_PICKUP_TIME: Text = Text {
    de: "Noch keine Abholzeit",
    en: "No pickup time yet",
    uk: "Час подачі ще не відомий",
    ar: "لم يُحدَّد وقت الاصطحاب بعد",
    tr: "Alınma saati henüz yok",
};
pub const OPEN_BOOKING: Text = Text {
    de: "Ansehen, Fahrschein oder absagen",
    en: "View, ticket or cancel",
    uk: "Переглянути, квиток або скасувати",
    ar: "عرض أو تذكرة أو إلغاء",
    tr: "Görüntüle, bilet veya iptal",
};

// ---- Link requests ----

pub const ADD_PERSON: Text = Text {
    de: "Eine Person hinzufügen",
    en: "Add a person",
    uk: "Додати людину",
    ar: "إضافة شخص",
    tr: "Kişi ekle",
};
pub const ADD_PERSON_INTRO: Text = Text {
    de: "Die Nummer steht auf jedem Fahrschein der Person. Die Zentrale fragt die Person, ob sie \
         einverstanden ist.",
    en: "The number is on every ticket of the person. The office asks the person if they agree.",
    uk: "Номер є на кожному квитку цієї людини. Центр запитає людину, чи вона згодна.",
    ar: "الرقم مكتوب على كل تذكرة للشخص. سيسأل المركز الشخص إن كان موافقًا.",
    tr: "Numara, kişinin her biletinde yazar. Merkez kişiye kabul edip etmediğini sorar.",
};
pub const PERSON_NUMBER: Text = Text {
    de: "Nummer der Person",
    en: "The person's number",
    uk: "Номер людини",
    ar: "رقم الشخص",
    tr: "Kişinin numarası",
};
pub const NUMBER_EXAMPLE: Text = Text {
    de: "Zum Beispiel 482-913-7",
    en: "For example 482-913-7",
    uk: "Наприклад, 482-913-7",
    ar: "مثلًا 482-913-7",
    tr: "Örneğin 482-913-7",
};
pub const PERSON_NAME: Text = Text {
    de: "Vor- und Nachname der Person",
    en: "The person's first and last name",
    uk: "Ім’я та прізвище людини",
    ar: "الاسم الأول واسم العائلة للشخص",
    tr: "Kişinin adı ve soyadı",
};
pub const SEND_REQUEST: Text = Text {
    de: "Anfrage senden",
    en: "Send request",
    uk: "Надіслати запит",
    ar: "إرسال الطلب",
    tr: "Talebi gönder",
};
pub const YOUR_REQUESTS: Text = Text {
    de: "Ihre Anfragen",
    en: "Your requests",
    uk: "Ваші запити",
    ar: "طلباتك",
    tr: "Talepleriniz",
};
pub const WAITING_FOR_CONSENT: Text = Text {
    de: "wartet auf Zustimmung",
    en: "waiting for consent",
    uk: "чекає на згоду",
    ar: "بانتظار الموافقة",
    tr: "onay bekleniyor",
};
pub const NOT_CONFIRMED: Text = Text {
    de: "nicht bestätigt",
    en: "not confirmed",
    uk: "не підтверджено",
    ar: "لم يتم التأكيد",
    tr: "onaylanmadı",
};
pub const REQUEST_NAME_PROBLEM: Text = Text {
    de: "Bitte geben Sie den Namen der Person ein (höchstens {max} Zeichen).",
    en: "Please enter the person's name (at most {max} characters).",
    uk: "Введіть ім’я людини (не більше {max} символів).",
    ar: "يرجى إدخال اسم الشخص (بحد أقصى {max} حرفًا).",
    tr: "Lütfen kişinin adını girin (en fazla {max} karakter).",
};
pub const REQUEST_NUMBER_PROBLEM: Text = Text {
    de: "Diese Nummer ist nicht richtig geschrieben. Sie hat sieben Ziffern, zum Beispiel \
         482-913-7, und steht auf dem Fahrschein.",
    en: "This number is not written correctly. It has seven digits, for example 482-913-7, and \
         is on the ticket.",
    uk: "Номер написано неправильно. Він має сім цифр, наприклад 482-913-7, і є на квитку.",
    ar: "هذا الرقم غير مكتوب بشكل صحيح. يتكون من سبعة أرقام، مثلًا 482-913-7، وهو مكتوب على \
         التذكرة.",
    tr: "Bu numara doğru yazılmamış. Yedi rakamdan oluşur, örneğin 482-913-7, ve bilette yazar.",
};
pub const TOO_MANY_REQUESTS: Text = Text {
    de: "Sie haben schon {max} offene Anfragen. Bitte warten Sie, bis die Zentrale sie \
         bearbeitet hat.",
    en: "You already have {max} open requests. Please wait until the office has dealt with them.",
    uk: "У вас уже {max} відкритих запитів. Зачекайте, поки центр їх опрацює.",
    ar: "لديك بالفعل {max} طلبات مفتوحة. يرجى الانتظار حتى يعالجها المركز.",
    tr: "Zaten {max} açık talebiniz var. Lütfen merkez bunları işleyene kadar bekleyin.",
};

// ---- Booking a ride ----

pub const RIDE_FOR: Text = Text {
    de: "Fahrt für {name}",
    en: "Ride for {name}",
    uk: "Поїздка для: {name}",
    ar: "رحلة من أجل {name}",
    tr: "{name} için yolculuk",
};
pub const PICKUP_AT_HOME: Text = Text {
    de: "Abholung zu Hause: {address}.",
    en: "Pickup at home: {address}.",
    uk: "Подача авто додому: {address}.",
    ar: "الاصطحاب من المنزل: {address}.",
    tr: "Evden alınma: {address}.",
};
pub const WHERE_TO: Text = Text {
    de: "Wohin?",
    en: "Where to?",
    uk: "Куди?",
    ar: "إلى أين؟",
    tr: "Nereye?",
};
pub const WHICH_DAY: Text = Text {
    de: "An welchem Tag ist der Termin?",
    en: "On which day is the appointment?",
    uk: "Якого дня прийом?",
    ar: "في أي يوم الموعد؟",
    tr: "Randevu hangi gün?",
};
pub const WHAT_TIME: Text = Text {
    de: "Um wie viel Uhr ist der Termin?",
    en: "At what time is the appointment?",
    uk: "О котрій годині прийом?",
    ar: "في أي ساعة الموعد؟",
    tr: "Randevu saat kaçta?",
};
pub const ARRIVE_BY_HINT: Text = Text {
    de: "Die Fahrt bringt die Person bis zu dieser Zeit hin.",
    en: "The ride gets the person there by this time.",
    uk: "Поїздка доставить людину на місце до цього часу.",
    ar: "توصل الرحلة الشخص إلى هناك قبل هذا الوقت.",
    tr: "Yolculuk kişiyi bu saate kadar oraya götürür.",
};
pub const NEEDS: Text = Text {
    de: "Was braucht die Person?",
    en: "What does the person need?",
    uk: "Що потрібно людині?",
    ar: "ماذا يحتاج الشخص؟",
    tr: "Kişinin neye ihtiyacı var?",
};
pub const WALKER: Text = Text {
    de: "Rollator",
    en: "Walking frame",
    uk: "Ходунки",
    ar: "مشّاية",
    tr: "Yürüteç",
};
pub const WHEELCHAIR: Text = Text {
    de: "Rollstuhl",
    en: "Wheelchair",
    uk: "Інвалідний візок",
    ar: "كرسي متحرك",
    tr: "Tekerlekli sandalye",
};
pub const COMPANION: Text = Text {
    de: "Eine Begleitperson fährt mit",
    en: "Someone comes along",
    uk: "Їде супровідна особа",
    ar: "يرافقه شخص آخر",
    tr: "Bir refakatçi de gelecek",
};
pub const GIVE_DAY: Text = Text {
    de: "Bitte geben Sie den Tag an, zum Beispiel 24.12.2026.",
    en: "Please enter the day, for example 24.12.2026.",
    uk: "Вкажіть день, наприклад 24.12.2026.",
    ar: "يرجى إدخال اليوم، مثلًا 24.12.2026.",
    tr: "Lütfen günü girin, örneğin 24.12.2026.",
};
pub const GIVE_TIME: Text = Text {
    de: "Bitte geben Sie die Uhrzeit an, zum Beispiel 09:30.",
    en: "Please enter the time, for example 09:30.",
    uk: "Вкажіть час, наприклад 09:30.",
    ar: "يرجى إدخال الوقت، مثلًا 09:30.",
    tr: "Lütfen saati girin, örneğin 09:30.",
};
pub const NO_SUCH_TIME: Text = Text {
    de: "Diese Uhrzeit gibt es an dem Tag nicht (Zeitumstellung).",
    en: "This time does not exist on that day (clock change).",
    uk: "Цього часу того дня немає (перехід на інший час).",
    ar: "هذا الوقت غير موجود في ذلك اليوم (تغيير الساعة).",
    tr: "Bu saat o gün yok (saat değişikliği).",
};
pub const IN_THE_PAST: Text = Text {
    de: "Dieser Zeitpunkt liegt in der Vergangenheit.",
    en: "This time is in the past.",
    uk: "Цей час уже минув.",
    ar: "هذا الوقت في الماضي.",
    tr: "Bu zaman geçmişte kaldı.",
};
pub const TOO_FAR_AHEAD: Text = Text {
    de: "Fahrten können höchstens ein Jahr im Voraus gebucht werden.",
    en: "Rides can be booked at most one year ahead.",
    uk: "Поїздки можна замовити щонайбільше на рік наперед.",
    ar: "يمكن حجز الرحلات قبل سنة واحدة كحد أقصى.",
    tr: "Yolculuklar en fazla bir yıl önceden rezerve edilebilir.",
};
pub const DESTINATION_CLOSED: Text = Text {
    de: "Zu dieser Zeit ist das Ziel geschlossen oder die Zeit kann nicht gebucht werden.",
    en: "The destination is closed at this time, or this time cannot be booked.",
    uk: "У цей час місце призначення зачинене або цей час не можна замовити.",
    ar: "المكان المقصود مغلق في هذا الوقت، أو لا يمكن حجز هذا الوقت.",
    tr: "Gidilecek yer bu saatte kapalı veya bu saat rezerve edilemez.",
};
pub const NO_WHEELCHAIR_VEHICLE: Text = Text {
    de: "Kein Fahrzeug der Region hat einen Rollstuhlplatz.",
    en: "No vehicle in the region has a wheelchair space.",
    uk: "Жоден автомобіль регіону не має місця для візка.",
    ar: "لا توجد في المنطقة مركبة فيها مكان لكرسي متحرك.",
    tr: "Bölgedeki hiçbir araçta tekerlekli sandalye yeri yok.",
};
pub const NOT_IN_TARGET_GROUP: Text = Text {
    de: "Der Fahrdienst kann diese Person nicht fahren (keine passende Zielgruppe). Bitte rufen \
         Sie die Zentrale an.",
    en: "The ride service cannot take this person (not in a group it serves). Please call the \
         office.",
    uk: "Служба перевезень не може возити цю людину (вона не належить до цільової групи). \
         Зателефонуйте до центру.",
    ar: "لا تستطيع خدمة النقل نقل هذا الشخص (لا ينتمي إلى الفئة المخدومة). يرجى الاتصال بالمركز.",
    tr: "Servis bu kişiyi taşıyamaz (uygun hedef grubunda değil). Lütfen merkezi arayın.",
};
pub const CALL_THE_OFFICE: Text = Text {
    de: "Diese Fahrt kann so nicht gebucht werden. Bitte rufen Sie die Zentrale an.",
    en: "This ride cannot be booked like this. Please call the office.",
    uk: "Цю поїздку не можна замовити так. Зателефонуйте до центру.",
    ar: "لا يمكن حجز هذه الرحلة بهذا الشكل. يرجى الاتصال بالمركز.",
    tr: "Bu yolculuk bu şekilde rezerve edilemez. Lütfen merkezi arayın.",
};
pub const CHECK_THE_RIDE: Text = Text {
    de: "Die Fahrt kann so nicht gebucht werden. Bitte prüfen Sie die Angaben.",
    en: "The ride cannot be booked like this. Please check the details.",
    uk: "Поїздку не можна замовити так. Перевірте дані.",
    ar: "لا يمكن حجز الرحلة بهذا الشكل. يرجى التحقق من البيانات.",
    tr: "Yolculuk bu şekilde rezerve edilemez. Lütfen bilgileri kontrol edin.",
};
pub const SENT_BEFORE: Text = Text {
    de: "Dieses Formular wurde schon mit anderen Angaben gesendet. Bitte öffnen Sie das \
         Formular neu.",
    en: "This form was already sent with other details. Please open the form again.",
    uk: "Цю форму вже надіслано з іншими даними. Відкрийте форму заново.",
    ar: "تم إرسال هذا النموذج من قبل ببيانات أخرى. يرجى فتح النموذج من جديد.",
    tr: "Bu form daha önce başka bilgilerle gönderildi. Lütfen formu yeniden açın.",
};
pub const FORM_INCOMPLETE: Text = Text {
    de: "Das Formular ist unvollständig. Bitte öffnen Sie es neu.",
    en: "The form is incomplete. Please open it again.",
    uk: "Форма неповна. Відкрийте її заново.",
    ar: "النموذج غير مكتمل. يرجى فتحه من جديد.",
    tr: "Form eksik. Lütfen yeniden açın.",
};
pub const CHOOSE_DESTINATION: Text = Text {
    de: "Bitte wählen Sie ein Ziel aus der Liste.",
    en: "Please choose a destination from the list.",
    uk: "Виберіть місце призначення зі списку.",
    ar: "يرجى اختيار وجهة من القائمة.",
    tr: "Lütfen listeden bir yer seçin.",
};

// ---- Booking counselling ----

pub const COUNSELLING_FOR: Text = Text {
    de: "Beratung für {name}",
    en: "Counselling for {name}",
    uk: "Консультація для: {name}",
    ar: "استشارة من أجل {name}",
    tr: "{name} için danışmanlık",
};
pub const BUS_COMES: Text = Text {
    de: "Der IMBUS-Beratungsbus kommt nach {village}. Freie Termine:",
    en: "The IMBUS counselling bus comes to {village}. Free appointments:",
    uk: "Консультаційний автобус IMBUS приїжджає в {village}. Вільний час:",
    ar: "تأتي حافلة الاستشارة IMBUS إلى {village}. المواعيد المتاحة:",
    tr: "IMBUS danışma otobüsü {village} köyüne geliyor. Boş randevular:",
};
pub const NO_FREE_SLOTS: Text = Text {
    de: "Zurzeit sind keine Termine frei. Bitte schauen Sie später wieder oder rufen Sie die \
         Zentrale an.",
    en: "No appointments are free at the moment. Please look again later or call the office.",
    uk: "Зараз вільного часу немає. Загляньте пізніше або зателефонуйте до центру.",
    ar: "لا توجد مواعيد متاحة حاليًا. يرجى المحاولة لاحقًا أو الاتصال بالمركز.",
    tr: "Şu anda boş randevu yok. Lütfen daha sonra tekrar bakın veya merkezi arayın.",
};
pub const APPOINTMENT: Text = Text {
    de: "Termin",
    en: "Appointment",
    uk: "Час запису",
    ar: "الموعد",
    tr: "Randevu",
};
pub const WHAT_ABOUT: Text = Text {
    de: "Worum geht es?",
    en: "What is it about?",
    uk: "Про що йдеться?",
    ar: "ما الموضوع؟",
    tr: "Konu nedir?",
};
pub const BOOK_APPOINTMENT: Text = Text {
    de: "Termin buchen",
    en: "Book appointment",
    uk: "Записатися",
    ar: "حجز الموعد",
    tr: "Randevu al",
};
pub const SLOT_JUST_TAKEN: Text = Text {
    de: "Dieser Termin ist gerade vergeben worden. Bitte wählen Sie einen anderen.",
    en: "This appointment has just been taken. Please choose another one.",
    uk: "Цей час щойно зайняли. Виберіть інший.",
    ar: "تم حجز هذا الموعد للتو. يرجى اختيار موعد آخر.",
    tr: "Bu randevu az önce alındı. Lütfen başka birini seçin.",
};
pub const SLOT_NOT_FREE: Text = Text {
    de: "Dieser Termin ist nicht frei. Bitte wählen Sie einen Termin aus der Liste.",
    en: "This appointment is not free. Please choose one from the list.",
    uk: "Цей час не вільний. Виберіть час зі списку.",
    ar: "هذا الموعد غير متاح. يرجى اختيار موعد من القائمة.",
    tr: "Bu randevu boş değil. Lütfen listeden bir randevu seçin.",
};

// ---- A booking's page ----

pub const APPOINTMENT_FOR: Text = Text {
    de: "Beratungstermin für {name}",
    en: "Counselling appointment for {name}",
    uk: "Консультація для: {name}",
    ar: "موعد استشارة من أجل {name}",
    tr: "{name} için danışma randevusu",
};
pub const RIDE_BOOKED: Text = Text {
    de: "Die Fahrt ist gebucht.",
    en: "The ride is booked.",
    uk: "Поїздку замовлено.",
    ar: "تم حجز الرحلة.",
    tr: "Yolculuk rezerve edildi.",
};
pub const LATE_CANCELLATION: Text = Text {
    de: "Die Absage kam kurzfristig und ist als späte Absage vermerkt.",
    en: "The cancellation came at short notice and is noted as a late cancellation.",
    uk: "Скасування надійшло в останню мить і записане як пізнє скасування.",
    ar: "جاء الإلغاء في وقت متأخر، وسُجِّل كإلغاء متأخر.",
    tr: "İptal son anda yapıldı ve geç iptal olarak kaydedildi.",
};
pub const BOOKING_CODE: Text = Text {
    de: "Buchungscode",
    en: "Booking code",
    uk: "Код бронювання",
    ar: "رمز الحجز",
    tr: "Rezervasyon kodu",
};
pub const WHAT: Text = Text {
    de: "Was",
    en: "What",
    uk: "Що",
    ar: "ماذا",
    tr: "Ne",
};
pub const WHEN: Text = Text {
    de: "Wann",
    en: "When",
    uk: "Коли",
    ar: "متى",
    tr: "Ne zaman",
};
pub const PICKUP: Text = Text {
    de: "Abholung",
    en: "Pickup",
    uk: "Місце подачі",
    ar: "مكان الاصطحاب",
    tr: "Alınma yeri",
};
pub const PICKUP_TIME: Text = Text {
    de: "Abholzeit",
    en: "Pickup time",
    uk: "Час подачі",
    ar: "وقت الاصطحاب",
    tr: "Alınma saati",
};
pub const NOT_KNOWN_YET: Text = Text {
    de: "noch offen",
    en: "not known yet",
    uk: "ще не відомо",
    ar: "لم يُحدَّد بعد",
    tr: "henüz belli değil",
};
pub const WHERE: Text = Text {
    de: "Wo",
    en: "Where",
    uk: "Де",
    ar: "أين",
    tr: "Nerede",
};
pub const STATUS: Text = Text {
    de: "Stand",
    en: "Status",
    uk: "Стан",
    ar: "الحالة",
    tr: "Durum",
};
pub const TICKET_PDF: Text = Text {
    de: "Fahrschein als PDF (drucken oder speichern)",
    en: "Ticket as PDF (print or save)",
    uk: "Квиток у PDF (надрукувати або зберегти)",
    ar: "التذكرة بصيغة PDF (للطباعة أو الحفظ)",
    tr: "PDF bilet (yazdır veya kaydet)",
};
pub const REALLY_CANCEL: Text = Text {
    de: "Wirklich absagen?",
    en: "Really cancel?",
    uk: "Справді скасувати?",
    ar: "هل تريد الإلغاء فعلًا؟",
    tr: "Gerçekten iptal edilsin mi?",
};
pub const CANCEL: Text = Text {
    de: "Absagen",
    en: "Cancel booking",
    uk: "Скасувати",
    ar: "إلغاء الحجز",
    tr: "İptal et",
};
pub const TOO_LATE_TO_CANCEL: Text = Text {
    de: "Dieser Termin hat schon stattgefunden und kann nicht mehr abgesagt werden.",
    en: "This has already taken place and can no longer be cancelled.",
    uk: "Це вже відбулося, скасувати більше не можна.",
    ar: "تم هذا الموعد بالفعل ولا يمكن إلغاؤه بعد الآن.",
    tr: "Bu randevu zaten gerçekleşti ve artık iptal edilemez.",
};

// ---- A ride not served as asked ----

/// Why a ride is not planned, by the reason code of `rides::reason_text` (German there).
pub const REASONS: &[(&str, Text)] = &[
    (
        "no_shift",
        Text {
            de: "An diesem Tag fährt kein Fahrzeug.",
            en: "No vehicle is on duty that day.",
            uk: "Цього дня не працює жоден автомобіль.",
            ar: "لا تعمل أي مركبة في هذا اليوم.",
            tr: "O gün hiçbir araç çalışmıyor.",
        },
    ),
    (
        "no_wheelchair_place",
        Text {
            de: "Kein Fahrzeug hat dann einen freien Rollstuhlplatz.",
            en: "No vehicle has a free wheelchair place then.",
            uk: "У цей час жоден автомобіль не має вільного місця для візка.",
            ar: "لا توجد مركبة فيها مكان شاغر لكرسي متحرك في ذلك الوقت.",
            tr: "O saatte hiçbir araçta boş tekerlekli sandalye yeri yok.",
        },
    ),
    (
        "no_seats",
        Text {
            de: "Kein Fahrzeug hat genug Sitzplätze.",
            en: "No vehicle has enough seats.",
            uk: "Жоден автомобіль не має достатньо місць.",
            ar: "لا توجد مركبة فيها مقاعد كافية.",
            tr: "Hiçbir araçta yeterli koltuk yok.",
        },
    ),
    (
        "time_window_impossible",
        Text {
            de: "Zu dieser Zeit ist die Fahrt nicht möglich (außerhalb der Fahrzeiten oder zu \
                 knapp).",
            en: "The ride is not possible at that time (outside service hours or too tight).",
            uk: "У цей час поїздка неможлива (поза годинами роботи або замало часу).",
            ar: "الرحلة غير ممكنة في هذا الوقت (خارج ساعات العمل أو الوقت ضيق جدًا).",
            tr: "Bu saatte yolculuk mümkün değil (çalışma saatleri dışında veya süre çok kısa).",
        },
    ),
    (
        "no_capacity_at_that_time",
        Text {
            de: "Zu dieser Zeit sind alle Fahrzeuge belegt.",
            en: "All vehicles are busy at that time.",
            uk: "У цей час усі автомобілі зайняті.",
            ar: "كل المركبات مشغولة في هذا الوقت.",
            tr: "O saatte bütün araçlar dolu.",
        },
    ),
    (
        "time_found",
        Text {
            de: "Die Fahrt ist jetzt eingeplant: bitte die Abholzeit mitteilen.",
            en: "The ride is planned now: please tell the pickup time.",
            uk: "Поїздку вже заплановано: повідомте час подачі.",
            ar: "تم تخطيط الرحلة الآن: يرجى إبلاغ وقت الاصطحاب.",
            tr: "Yolculuk artık planlandı: lütfen alınma saatini bildirin.",
        },
    ),
];
pub const NOT_PLANNED: Text = Text {
    de: "Die Fahrt ist noch nicht eingeplant.",
    en: "The ride is not planned yet.",
    uk: "Поїздку ще не заплановано.",
    ar: "لم يتم تخطيط الرحلة بعد.",
    tr: "Yolculuk henüz planlanmadı.",
};
pub const OFFICE_CALLS_BACK: Text = Text {
    de: "Die Zentrale ruft zurück und sucht eine Lösung.",
    en: "The office will call back and look for a solution.",
    uk: "Центр передзвонить і знайде рішення.",
    ar: "سيتصل بك المركز ويبحث عن حل.",
    tr: "Merkez sizi geri arayıp bir çözüm bulacak.",
};
pub const THESE_TIMES: Text = Text {
    de: "Diese Zeiten gehen:",
    en: "These times are possible:",
    uk: "Можливий такий час:",
    ar: "هذه الأوقات ممكنة:",
    tr: "Bu saatler mümkün:",
};
pub const OR_WAIT: Text = Text {
    de: "Oder lassen Sie die Anfrage stehen: die Zentrale ruft zurück.",
    en: "Or leave the request as it is: the office will call back.",
    uk: "Або залиште запит як є: центр передзвонить.",
    ar: "أو اترك الطلب كما هو: سيتصل بك المركز.",
    tr: "Ya da talebi böyle bırakın: merkez sizi geri arar.",
};
pub const ARRIVE_BY: Text = Text {
    de: "{day}: Ankunft bis {time} Uhr",
    en: "{day}: arrive by {time}",
    uk: "{day}: прибуття до {time}",
    ar: "{day}: الوصول قبل {time}",
    tr: "{day}: en geç {time} varış",
};
pub const PICKUP_WINDOW_ON: Text = Text {
    de: "{day}: Abholung {window}",
    en: "{day}: pickup {window}",
    uk: "{day}: подача {window}",
    ar: "{day}: الاصطحاب {window}",
    tr: "{day}: alınma {window}",
};
pub const OPTION_GONE: Text = Text {
    de: "Diese Möglichkeit gibt es nicht mehr.",
    en: "This option is no longer available.",
    uk: "Цей варіант більше недоступний.",
    ar: "هذا الخيار لم يعد متاحًا.",
    tr: "Bu seçenek artık yok.",
};
/// The no-show notice of a booking (German as stored, `rides::rules::check_no_shows`).
pub const NO_SHOW_WARNING: Text = Text {
    de: "Sie sind {n} Mal nicht zu einer Fahrt gekommen. Bitte sagen Sie Fahrten ab, die Sie \
         nicht brauchen. Nach {max} Mal kann nur noch eine Kümmerin oder ein Kümmerer für Sie \
         buchen.",
    en: "You missed {n} rides. Please cancel rides you do not need. After {max} missed rides only \
         a caregiver can book for you.",
    uk: "Пропущено поїздок: {n}. Будь ласка, скасовуйте поїздки, які не потрібні. Після {max} \
         пропусків бронювати зможе лише людина, яка доглядає.",
    ar: "عدد الرحلات التي لم يحضر إليها: {n}. يرجى إلغاء الرحلات غير اللازمة. بعد {max} مرات من \
         عدم الحضور لا يستطيع الحجز إلا مقدّم الرعاية.",
    tr: "Kaçırılan yolculuk sayısı: {n}. Lütfen ihtiyaç duyulmayan yolculukları iptal edin. {max} \
         kez kaçırıldıktan sonra yalnızca bakım veren kişi rezervasyon yapabilir.",
};
pub const CAREGIVER_ONLY: Text = Text {
    de: "Gebucht durch die Kümmerin oder den Kümmerer.",
    en: "Booked through the caregiver.",
    uk: "Заброньовано людиною, яка доглядає.",
    ar: "تم الحجز عن طريق مقدّم الرعاية.",
    tr: "Bakım veren kişi tarafından rezerve edildi.",
};

// ---- Registration ----

pub const REGISTER_INTRO: Text = Text {
    de: "Hier können Sie Fahrten und Beratungstermine für Menschen buchen, die selbst kein \
         Internet nutzen.",
    en: "Here you can book rides and counselling appointments for people who do not use the \
         internet themselves.",
    uk: "Тут ви можете бронювати поїздки й консультації для людей, які самі не користуються \
         інтернетом.",
    ar: "هنا يمكنك حجز رحلات ومواعيد استشارة لأشخاص لا يستخدمون الإنترنت بأنفسهم.",
    tr: "Burada, kendisi internet kullanmayan kişiler için yolculuk ve danışma randevusu \
         alabilirsiniz.",
};
pub const YOUR_REGION: Text = Text {
    de: "Ihre Region",
    en: "Your region",
    uk: "Ваш регіон",
    ar: "منطقتك",
    tr: "Bölgeniz",
};
pub const YOUR_NAME: Text = Text {
    de: "Ihr Vor- und Nachname",
    en: "Your first and last name",
    uk: "Ваше ім’я та прізвище",
    ar: "اسمك الأول واسم عائلتك",
    tr: "Adınız ve soyadınız",
};
pub const YOUR_EMAIL: Text = Text {
    de: "Ihre E-Mail-Adresse",
    en: "Your e-mail address",
    uk: "Ваша адреса електронної пошти",
    ar: "بريدك الإلكتروني",
    tr: "E-posta adresiniz",
};
pub const EMAIL_HINT: Text = Text {
    de: "Mit dieser E-Mail-Adresse melden Sie sich später an.",
    en: "You will log in with this e-mail address.",
    uk: "З цією адресою ви входитимете на сайт.",
    ar: "ستسجّل الدخول لاحقًا بهذا البريد الإلكتروني.",
    tr: "Daha sonra bu e-posta adresiyle giriş yaparsınız.",
};
pub const YOUR_PHONE: Text = Text {
    de: "Ihre Telefonnummer (freiwillig)",
    en: "Your phone number (optional)",
    uk: "Ваш номер телефону (необов’язково)",
    ar: "رقم هاتفك (اختياري)",
    tr: "Telefon numaranız (isteğe bağlı)",
};
pub const PHONE_HINT: Text = Text {
    de: "Damit die Zentrale Sie bei Fragen anrufen kann.",
    en: "So the office can call you with questions.",
    uk: "Щоб центр міг вам зателефонувати, якщо будуть питання.",
    ar: "حتى يتمكن المركز من الاتصال بك عند وجود أسئلة.",
    tr: "Sorular olursa merkez sizi arayabilsin diye.",
};
pub const REPEAT_PASSWORD: Text = Text {
    de: "Passwort wiederholen",
    en: "Repeat password",
    uk: "Повторіть пароль",
    ar: "أعد كتابة كلمة المرور",
    tr: "Şifreyi tekrar girin",
};
pub const CONSENT: Text = Text {
    de: "Ich bin einverstanden, dass Dorfpunkt meinen Namen, meine E-Mail-Adresse und \
         Telefonnummer speichert, um Buchungen für andere zu ermöglichen. Ich kann das Konto \
         jederzeit löschen lassen.",
    en: "I agree that Dorfpunkt stores my name, e-mail address and phone number so that I can \
         book for others. I can have the account deleted at any time.",
    uk: "Я даю згоду, щоб Dorfpunkt зберігав моє ім’я, адресу електронної пошти й номер \
         телефону для бронювання для інших людей. Обліковий запис можна будь-коли видалити на \
         мій запит.",
    ar: "أوافق على أن يحفظ Dorfpunkt اسمي وبريدي الإلكتروني ورقم هاتفي لكي أتمكن من الحجز \
         لأشخاص آخرين. يمكنني طلب حذف الحساب في أي وقت.",
    tr: "Başkaları için rezervasyon yapabilmem için Dorfpunkt'un adımı, e-posta adresimi ve \
         telefon numaramı saklamasını kabul ediyorum. Hesabı istediğim zaman sildirebilirim.",
};
pub const REGISTER: Text = Text {
    de: "Registrieren",
    en: "Register",
    uk: "Зареєструватися",
    ar: "تسجيل",
    tr: "Kaydol",
};
pub const ALREADY_REGISTERED: Text = Text {
    de: "Schon registriert? ",
    en: "Already registered? ",
    uk: "Уже зареєстровані? ",
    ar: "هل أنت مسجّل بالفعل؟ ",
    tr: "Zaten kayıtlı mısınız? ",
};
pub const TO_LOGIN: Text = Text {
    de: "Zur Anmeldung",
    en: "Go to log-in",
    uk: "Перейти до входу",
    ar: "إلى تسجيل الدخول",
    tr: "Girişe git",
};
pub const CHOOSE_REGION: Text = Text {
    de: "Bitte wählen Sie Ihre Region aus der Liste.",
    en: "Please choose your region from the list.",
    uk: "Виберіть свій регіон зі списку.",
    ar: "يرجى اختيار منطقتك من القائمة.",
    tr: "Lütfen listeden bölgenizi seçin.",
};
pub const GIVE_NAME: Text = Text {
    de: "Bitte geben Sie Ihren Namen ein.",
    en: "Please enter your name.",
    uk: "Введіть своє ім’я.",
    ar: "يرجى إدخال اسمك.",
    tr: "Lütfen adınızı girin.",
};
pub const NAME_TOO_LONG: Text = Text {
    de: "Der Name ist zu lang (höchstens {max} Zeichen).",
    en: "The name is too long (at most {max} characters).",
    uk: "Ім’я задовге (не більше {max} символів).",
    ar: "الاسم طويل جدًا (بحد أقصى {max} حرفًا).",
    tr: "Ad çok uzun (en fazla {max} karakter).",
};
pub const GIVE_EMAIL: Text = Text {
    de: "Bitte geben Sie eine gültige E-Mail-Adresse ein, zum Beispiel name@beispiel.de.",
    en: "Please enter a valid e-mail address, for example name@example.org.",
    uk: "Введіть правильну адресу електронної пошти, наприклад name@example.org.",
    ar: "يرجى إدخال بريد إلكتروني صحيح، مثلًا name@example.org.",
    tr: "Lütfen geçerli bir e-posta adresi girin, örneğin name@example.org.",
};
pub const EMAIL_TOO_LONG: Text = Text {
    de: "Diese E-Mail-Adresse ist für ein Konto zu lang. Bitte nehmen Sie eine kürzere.",
    en: "This e-mail address is too long for an account. Please use a shorter one.",
    uk: "Ця адреса задовга для облікового запису. Використайте коротшу.",
    ar: "هذا البريد الإلكتروني طويل جدًا للحساب. يرجى استخدام بريد أقصر.",
    tr: "Bu e-posta adresi hesap için çok uzun. Lütfen daha kısa bir adres kullanın.",
};
pub const PHONE_WRONG: Text = Text {
    de: "Die Telefonnummer ist nicht richtig, zum Beispiel: 05331 123456.",
    en: "The phone number is not right. Example: 05331 123456.",
    uk: "Номер телефону неправильний. Приклад: 05331 123456.",
    ar: "رقم الهاتف غير صحيح. مثال: 05331 123456.",
    tr: "Telefon numarası doğru değil. Örnek: 05331 123456.",
};
pub const GIVE_CONSENT: Text = Text {
    de: "Bitte stimmen Sie der Speicherung Ihrer Daten zu.",
    en: "Please agree to your data being stored.",
    uk: "Дайте згоду на зберігання ваших даних.",
    ar: "يرجى الموافقة على حفظ بياناتك.",
    tr: "Lütfen verilerinizin saklanmasını onaylayın.",
};
pub const EMAIL_TAKEN: Text = Text {
    de: "Mit dieser E-Mail-Adresse ist schon jemand registriert. Bitte melden Sie sich an oder \
         rufen Sie die Zentrale an.",
    en: "Someone is already registered with this e-mail address. Please log in or call the \
         office.",
    uk: "З цією адресою вже хтось зареєстрований. Увійдіть або зателефонуйте до центру.",
    ar: "يوجد شخص مسجّل بهذا البريد الإلكتروني بالفعل. يرجى تسجيل الدخول أو الاتصال بالمركز.",
    tr: "Bu e-posta adresiyle zaten biri kayıtlı. Lütfen giriş yapın veya merkezi arayın.",
};
pub const NOT_STORABLE: Text = Text {
    de: "Die Angaben können so nicht gespeichert werden. Bitte prüfen Sie sie.",
    en: "The details cannot be saved like this. Please check them.",
    uk: "Ці дані не можна зберегти. Перевірте їх.",
    ar: "لا يمكن حفظ البيانات بهذا الشكل. يرجى التحقق منها.",
    tr: "Bilgiler bu şekilde kaydedilemez. Lütfen kontrol edin.",
};

// ---- Ticket PDF ----

pub const TICKET: Text = Text {
    de: "Fahrschein",
    en: "Ticket",
    uk: "Квиток",
    ar: "تذكرة",
    tr: "Bilet",
};
pub const COUNSELLING_APPOINTMENT: Text = Text {
    de: "Beratungstermin",
    en: "Counselling appointment",
    uk: "Консультація",
    ar: "موعد استشارة",
    tr: "Danışma randevusu",
};
pub const FOR: Text = Text {
    de: "Für",
    en: "For",
    uk: "Для кого",
    ar: "لمن",
    tr: "Kimin için",
};
pub const OPEN_OFFICE_CALLS: Text = Text {
    de: "noch offen \u{2013} die Zentrale ruft zurück",
    en: "not known yet \u{2013} the office will call back",
    uk: "ще не відомо \u{2013} центр передзвонить",
    ar: "لم يُحدَّد بعد \u{2013} سيتصل بك المركز",
    tr: "henüz belli değil \u{2013} merkez geri arayacak",
};
pub const TICKET_FOOTER: Text = Text {
    de: "Fragen oder absagen: Zentrale {region}, Telefon {phone}. Bitte nennen Sie den \
         Buchungscode.",
    en: "Questions or cancelling: {region} office, phone {phone}. Please give the booking code.",
    uk: "Питання або скасування: центр {region}, телефон {phone}. Назвіть код бронювання.",
    ar: "للأسئلة أو الإلغاء: مركز {region}، الهاتف {phone}. يرجى ذكر رمز الحجز.",
    tr: "Sorular veya iptal: {region} merkezi, telefon {phone}. Lütfen rezervasyon kodunu \
         söyleyin.",
};

// ---- Error pages ----

pub const NOT_FOUND_TITLE: Text = Text {
    de: "Nicht gefunden",
    en: "Not found",
    uk: "Не знайдено",
    ar: "غير موجود",
    tr: "Bulunamadı",
};
pub const NOT_FOUND: Text = Text {
    de: "Diese Seite oder dieser Eintrag wurde nicht gefunden.",
    en: "This page or entry was not found.",
    uk: "Цю сторінку або запис не знайдено.",
    ar: "لم يتم العثور على هذه الصفحة أو هذا الإدخال.",
    tr: "Bu sayfa veya kayıt bulunamadı.",
};
pub const FORBIDDEN_TITLE: Text = Text {
    de: "Nicht erlaubt",
    en: "Not allowed",
    uk: "Не дозволено",
    ar: "غير مسموح",
    tr: "İzin verilmiyor",
};
pub const FORBIDDEN: Text = Text {
    de: "Diese Seite ist für Ihr Konto nicht freigegeben.",
    en: "Your account may not open this page.",
    uk: "Ваш обліковий запис не має доступу до цієї сторінки.",
    ar: "لا يسمح حسابك بفتح هذه الصفحة.",
    tr: "Hesabınız bu sayfayı açamaz.",
};
pub const CONFLICT_TITLE: Text = Text {
    de: "Nicht möglich",
    en: "Not possible",
    uk: "Неможливо",
    ar: "غير ممكن",
    tr: "Mümkün değil",
};
pub const BAD_REQUEST_TITLE: Text = Text {
    de: "Bitte prüfen Sie die Eingabe",
    en: "Please check what you entered",
    uk: "Перевірте, будь ласка, введені дані",
    ar: "يرجى التحقق من المدخلات",
    tr: "Lütfen girdiğiniz bilgileri kontrol edin",
};
pub const ERROR_TITLE: Text = Text {
    de: "Fehler",
    en: "Error",
    uk: "Помилка",
    ar: "خطأ",
    tr: "Hata",
};
pub const FORM_EXPIRED: Text = Text {
    de: "Das Formular war abgelaufen oder kam nicht von dieser Seite. Bitte laden Sie die Seite \
         neu und versuchen Sie es noch einmal.",
    en: "The form had expired or did not come from this site. Please reload the page and try \
         again.",
    uk: "Термін дії форми минув або вона надійшла не з цього сайту. Оновіть сторінку й \
         спробуйте ще раз.",
    ar: "انتهت صلاحية النموذج أو لم يأتِ من هذا الموقع. يرجى تحديث الصفحة والمحاولة مرة أخرى.",
    tr: "Formun süresi doldu veya bu siteden gelmedi. Lütfen sayfayı yenileyip tekrar deneyin.",
};
pub const FORM_BROKEN: Text = Text {
    de: "Das Formular ist unvollständig oder falsch. Bitte öffnen Sie es neu.",
    en: "The form is incomplete or wrong. Please open it again.",
    uk: "Форма неповна або неправильна. Відкрийте її заново.",
    ar: "النموذج غير مكتمل أو غير صحيح. يرجى فتحه من جديد.",
    tr: "Form eksik veya hatalı. Lütfen yeniden açın.",
};
pub const INTERNAL: Text = Text {
    de: "Etwas ist schiefgegangen. Bitte versuchen Sie es später noch einmal (Anfrage {id}).",
    en: "Something went wrong. Please try again later (request {id}).",
    uk: "Щось пішло не так. Спробуйте пізніше (запит {id}).",
    ar: "حدث خطأ ما. يرجى المحاولة لاحقًا (الطلب {id}).",
    tr: "Bir sorun oluştu. Lütfen daha sonra tekrar deneyin (istek {id}).",
};
pub const TO_START: Text = Text {
    de: "Zur Startseite",
    en: "To the start page",
    uk: "На головну сторінку",
    ar: "إلى الصفحة الرئيسية",
    tr: "Ana sayfaya",
};

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_reasons_german_is_the_planner_s_german() {
        for (code, text) in REASONS {
            assert_eq!(text.de, crate::rides::reason_text(code).0, "{code}");
        }
        assert_eq!(NOT_PLANNED.de, crate::rides::reason_text("other").0);
    }
}
